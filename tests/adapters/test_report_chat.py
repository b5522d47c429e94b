"""The learning report asked for in chat: a partnership admin gets it as an HTML file (Slack: a
file in their DM; Teams: through the file consent card to their OneDrive); anyone else is refused
and nothing is sent."""

from __future__ import annotations

from fakes.bot_connector import card_text
from fakes.slack_requests import fill, view_submission
from fakes.teams_activities import RAISE, activity, install
from support import london

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
REFUSAL = "Only the partnership's admins for a policy can have its learning report."


# -- Slack ------------------------------------------------------------------------------------


async def slack_raise(slack) -> None:
    from test_slack import FORM, open_form

    view = await open_form(slack, "UALEX")
    await slack.send(view_submission("UALEX", fill(view, **FORM)))


async def test_slack_an_admin_gets_the_report_as_a_file_in_their_dm(slack):
    await slack_raise(slack)
    slack.clock.set(london(2027, 1, 4, 9))
    (answer,) = await slack.ask("UDEE", "report camden 2026-12-01 2026-12-31")
    answer = answer["text"]
    assert "learning report, 1 December 2026 to 31 December 2026: 1 difference raised" in answer
    assert "on its way to you as a file" in answer
    (complete,) = await slack.fake.wait_for("files.completeUploadExternal")
    assert complete.args["channel_id"] == "DUDEE"
    (content,) = slack.fake.uploads.values()
    html = content.decode()
    assert html.startswith("<!DOCTYPE html>")
    assert "Camden Safeguarding Children Partnership" in html and "E-0001" in html and "CIN-20931" in html


async def test_slack_anyone_else_is_refused_and_nothing_is_sent(slack):
    await slack_raise(slack)
    for words in ("report", "report camden 2026-12-01 2026-12-31", "report nowhere"):
        (answer,) = await slack.ask("UALEX", words)
        assert answer["text"] == REFUSAL
    assert slack.fake.called("files.completeUploadExternal") == []
    assert slack.fake.called("files.getUploadURLExternal") == []


async def test_slack_an_admin_s_mistake_is_named(slack):
    (answer,) = await slack.ask("UDEE", "report camden 2026-12-31 2026-12-01")
    assert "ends (2026-12-01) before it starts (2026-12-31)" in answer["text"]
    (answer,) = await slack.ask("UDEE", "report hackney")
    assert "There is no policy 'hackney'" in answer["text"]


# -- Teams ------------------------------------------------------------------------------------


def offers_to(teams, conversation: str) -> list[dict]:
    return [
        a
        for s in teams.connector.cards_to(conversation)
        for a in s.body.get("attachments") or []
        if a["contentType"] == CONSENT
    ]


async def test_teams_an_admin_accepts_the_report_and_it_is_saved_as_a_file(teams):
    url = teams.connector.service_url
    for user in ("alex", "sam", "dee"):
        await teams.post(install(url, user))
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    teams.clock.set(london(2027, 1, 4, 9))
    await teams.post(activity(url, "dee", text="escalate report camden 2026-12-01 2026-12-31"))
    (offer,) = offers_to(teams, "a:dee")
    assert offer["name"] == "camden learning report 2026-12-01 to 2026-12-31.html"
    assert "1 difference raised" in offer["content"]["description"]

    value = {
        "type": "fileUpload",
        "action": "accept",
        "context": offer["content"]["acceptContext"],
        "uploadInfo": teams.connector.upload_info(offer["name"]),
    }
    invoke = activity(url, "dee", kind="invoke", value=value)
    invoke["name"] = "fileConsent/invoke"
    status, _ = await teams.post(invoke)
    assert status == 200
    content, _ = teams.connector.uploads["camden-learning-report-2026-12-01-to-2026-12-31.html"]
    assert b"Camden Safeguarding Children Partnership" in content and b"CIN-20931" in content
    shown = [a for s in teams.connector.cards_to("a:dee") for a in s.body.get("attachments") or []]
    assert any(a["contentType"] == FILE_INFO and a["name"] == offer["name"] for a in shown)


async def test_teams_anyone_else_is_refused_even_with_a_forged_consent(teams):
    url = teams.connector.service_url
    await teams.post(install(url, "alex"))
    await teams.post(activity(url, "alex", text="escalate report camden 2026-12-01 2026-12-31"))
    assert offers_to(teams, "a:alex") == []
    assert any(REFUSAL in card_text(s) for s in teams.connector.cards_to("a:alex"))
    context = {"report": "camden", "from": "2026-12-01", "to": "2026-12-31"}
    value = {"type": "fileUpload", "action": "accept", "context": context}
    value["uploadInfo"] = teams.connector.upload_info("camden.html")
    invoke = activity(url, "alex", kind="invoke", value=value)
    invoke["name"] = "fileConsent/invoke"
    assert (await teams.post(invoke))[0] == 200
    assert teams.connector.uploads == {}


# -- the monthly report, unasked ----------------------------------------------------------------


async def test_slack_the_monthly_report_arrives_as_a_file_with_what_it_is(slack):
    await slack_raise(slack)
    await slack.tick()  # the loop plans the month's report
    slack.clock.set(london(2027, 1, 4, 9))
    await slack.tick()
    (complete,) = await slack.fake.wait_for("files.completeUploadExternal")
    assert complete.args["channel_id"] == "DUDEE"
    comment = complete.args["initial_comment"]
    assert comment.startswith(
        "Your monthly learning report: Camden Safeguarding Children Partnership, December 2026"
    )
    (content,) = slack.fake.uploads.values()
    assert content.decode().startswith("<!DOCTYPE html>") and "CIN-20931" in content.decode()
    assert not slack.fake.called("files.completeUploadExternal", channel_id="DUALEX")  # admins only


async def test_slack_an_admin_who_said_monthly_off_gets_none(slack):
    (answer,) = await slack.ask("UDEE", "monthly off")
    assert answer["text"].startswith("You will no longer get the monthly learning report")
    await slack_raise(slack)
    await slack.tick()
    slack.clock.set(london(2027, 1, 4, 9))
    await slack.tick()
    assert slack.fake.called("files.completeUploadExternal") == []


async def test_teams_the_monthly_report_is_offered_with_the_file_consent_card(teams):
    url = teams.connector.service_url
    for user in ("alex", "dee"):
        await teams.post(install(url, user))
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    await teams.tick()
    teams.clock.set(london(2027, 1, 4, 9))
    await teams.tick()
    sent = teams.connector.cards_to("a:dee")
    summary = next(s for s in sent if "Your monthly learning report" in card_text(s))
    assert "December 2026" in card_text(summary)
    offers = [
        a for s in teams.connector.sent if s.conversation == "a:dee" for a in s.body.get("attachments") or []
    ]
    assert any(a["contentType"] == CONSENT and a["name"].endswith(".html") for a in offers)
