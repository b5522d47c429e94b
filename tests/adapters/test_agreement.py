"""Resolution by agreement in Slack and Teams: the other side's Resolved asks the raiser, whose one
tap on Agree closes it; Not agreed keeps it open with a reason the other side sees."""

from __future__ import annotations

import json
from datetime import timedelta

from fakes.bot_connector import card_text
from fakes.slack_requests import RAISE_ANSWERS as FORM
from fakes.slack_requests import block_action, fill, slash, view_submission
from fakes.teams_activities import RAISE, activity, install
from support import eventually


async def slack_raise(slack) -> None:
    assert (await slack.send(slash("UALEX", trigger_id="t-1")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-1")
    await slack.send(view_submission("UALEX", fill(opened.args["view"], **FORM)))


async def slack_sam_proposes(slack) -> None:
    await slack.send(block_action("USAM", "esc:resolve", value="E-0001", trigger_id="t-2"))
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-2")
    answers = {"outcome": "Health visiting stays open until the review", "agreed_actions": "Joint visit"}
    assert (await slack.send(view_submission("USAM", fill(opened.args["view"], **answers))))[0] == 200
    slack.clock.advance(timedelta(seconds=1))
    await slack.tick()


def top_level(slack, channel: str) -> list[dict]:
    return [m for m in slack.fake.messages if m["channel"] == channel and m["thread_ts"] is None]


async def test_slack_the_raiser_agrees_with_one_tap(slack):
    await slack_raise(slack)
    await slack_sam_proposes(slack)
    ask = top_level(slack, "DUALEX")[-1]
    # The push notification Alex's phone shows is the first line: what happened, to which case.
    assert ask["text"] == "Resolved? Sam Patel proposes E-0001 is resolved"
    buttons = [e["action_id"] for b in ask["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["esc:agree_resolved", "esc:not_agreed"]
    assert slack.services.bot.load("E-0001").is_open

    await slack.send(block_action("UALEX", "esc:agree_resolved", value="E-0001"))
    slack.clock.advance(timedelta(seconds=1))
    await slack.tick()
    for channel in ("DUALEX", "DUSAM"):
        assert (
            top_level(slack, channel)[-1]["text"] == "Resolved: E-0001, agreed by Sam Patel and Alex Morgan"
        )
    assert slack.services.bot.load("E-0001").status == "resolved"


async def test_slack_not_agreed_asks_why_and_tells_the_other_side(slack):
    await slack_raise(slack)
    await slack_sam_proposes(slack)
    await slack.send(block_action("UALEX", "esc:not_agreed", value="E-0001", trigger_id="t-3"))
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-3")
    assert opened.args["view"]["callback_id"] == "escalate_not_agreed"
    why = {"reason": "The GP still reports missed visits."}
    assert (await slack.send(view_submission("UALEX", fill(opened.args["view"], **why))))[0] == 200
    slack.clock.advance(timedelta(seconds=1))
    await slack.tick()
    told = top_level(slack, "DUSAM")[-1]
    assert told["text"] == "Not agreed: Alex Morgan does not agree E-0001 is resolved"
    assert "The GP still reports missed visits." in json.dumps(told["blocks"])
    assert slack.services.bot.load("E-0001").is_open


async def test_teams_the_raiser_agrees_with_one_tap_and_not_agreed_needs_a_reason(teams):
    url = teams.connector.service_url
    for user in ("alex", "sam"):
        await teams.post(install(url, user))
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    await teams.tick()
    proposal = {
        "action": "resolve_submit",
        "id": "E-0001",
        "outcome": "Health visiting stays open until the review",
        "agreed_actions": "Joint visit",
    }
    await teams.post(activity(url, "sam", value=proposal, reply_to_id="card-s"))
    await teams.tick()
    await teams.connector.wait_until(
        lambda: any("proposes E-0001 is resolved" in card_text(s) for s in teams.connector.cards_to("a:alex"))
    )
    ask = next(s for s in teams.connector.cards_to("a:alex") if "proposes E-0001 is resolved" in card_text(s))
    assert card_text(ask).strip().startswith("Resolved? Sam Patel proposes E-0001 is resolved")
    actions = ask.body["attachments"][0]["content"]["actions"]
    assert [a["data"]["action"] for a in actions] == ["agree_resolved", "not_agreed"]

    # Not agreed without a reason is refused beside the field; nothing changes.
    await teams.post(
        activity(url, "alex", value={"action": "not_agreed_submit", "id": "E-0001"}, reply_to_id="c1")
    )
    await teams.connector.wait_until(
        lambda: any(s.verb == "update" and s.activity_id == "c1" for s in teams.connector.sent)
    )
    assert teams.services.bot.load("E-0001").proposal is not None

    await teams.post(
        activity(url, "alex", value={"action": "agree_resolved", "id": "E-0001"}, reply_to_id="c2")
    )
    await teams.tick()
    assert teams.services.bot.load("E-0001").status == "resolved"
    await teams.connector.wait_until(
        lambda: any(
            card_text(s).strip().startswith("Resolved: E-0001, agreed by Sam Patel and Alex Morgan")
            for s in teams.connector.cards_to("a:sam")
        )
    )


async def test_slack_a_step_the_policy_sets_goes_to_its_person_and_is_marked_done_with_one_tap(slack):
    from support import london

    assert (await slack.send(slash("UALEX", trigger_id="t-1")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-1")
    await slack.send(view_submission("UALEX", fill(opened.args["view"], **{**FORM, "policy": "redbridge"})))
    assert slack.services.bot.load("E-0001").policy.id == "redbridge"
    await slack.send(block_action("UALEX", "esc:resolve", value="E-0001", trigger_id="t-2"))
    (form,) = await slack.fake.wait_for("views.open", trigger_id="t-2")
    await slack.send(view_submission("UALEX", fill(form.args["view"], outcome="Agreed a plan")))
    slack.clock.set(london(2026, 12, 3, 9))
    await slack.tick()
    (todo,) = [m for m in slack.fake.messages if m["text"].startswith("To do:")]
    assert todo["channel"] == "DUSAM"
    (button,) = [e for b in todo["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["text"]["text"]) == ("esc:milestone_done", "Done")
    await slack.send(block_action("USAM", "esc:milestone_done", value=button["value"]))
    await eventually(lambda: "confirm-outcome" in slack.services.bot.load("E-0001").milestones_met)


async def test_slack_an_agreed_action_with_an_owner_and_a_reopen_when_it_is_not_done(slack):
    from support import london

    await slack_raise(slack)
    await slack.send(block_action("UALEX", "esc:resolve", value="E-0001", trigger_id="t-2"))
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-2")
    view = opened.args["view"]
    owner_block = next(b for b in view["blocks"] if b["block_id"] == "owner_1")
    assert [o["text"]["text"] for o in owner_block["element"]["options"]] == ["Alex Morgan", "Sam Patel"]
    # Half filled: the missing day is asked for beside its field, nothing recorded.
    half = fill(view, outcome="Stays open", action_1="Joint visit", owner_1="sam")
    status, body = await slack.send(view_submission("UALEX", half))
    assert status == 200 and json.loads(body)["errors"] == {"by_1": "By when?"}
    full = fill(view, outcome="Stays open", action_1="Joint visit", owner_1="sam", by_1="2026-12-10")
    assert (await slack.send(view_submission("UALEX", full)))[0] == 200
    assert slack.services.bot.load("E-0001").status == "resolved"

    slack.clock.set(london(2026, 12, 10, 9))
    await slack.tick()
    (todo,) = [m for m in slack.fake.messages if m["text"].startswith("To do: Sam Patel: Joint visit")]
    assert todo["channel"] == "DUSAM"
    slack.clock.set(london(2026, 12, 10, 17))
    await slack.tick()
    (not_done,) = [m for m in slack.fake.messages if m["text"].startswith("Not done: Joint visit")]
    assert not_done["channel"] == "DUALEX"
    buttons = {e["action_id"]: e for b in not_done["blocks"] if b["type"] == "actions" for e in b["elements"]}
    await slack.send(
        block_action("UALEX", "esc:reopen", value=buttons["esc:reopen"]["value"], trigger_id="t-3")
    )
    (form,) = await slack.fake.wait_for("views.open", trigger_id="t-3")
    why = fill(form.args["view"], reason="The joint visit did not happen")
    assert (await slack.send(view_submission("UALEX", why)))[0] == 200
    esc = slack.services.bot.load("E-0001")
    assert esc.is_open and esc.stage.number == 1


async def test_teams_an_agreed_action_is_marked_done_from_its_card(teams):
    from support import london

    url = teams.connector.service_url
    for user in ("alex", "sam"):
        await teams.post(install(url, user))
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    resolve = {
        "action": "resolve_submit",
        "id": "E-0001",
        "outcome": "Stays open",
        "action_1": "Joint visit",
        "owner_1": "sam",
        "by_1": "2026-12-10",
    }
    await teams.post(activity(url, "alex", value=resolve, reply_to_id="c1"))
    assert teams.services.bot.load("E-0001").status == "resolved"
    teams.clock.set(london(2026, 12, 10, 9))
    await teams.tick()
    await teams.connector.wait_until(
        lambda: any(
            "To do: Sam Patel: Joint visit" in card_text(s) for s in teams.connector.cards_to("a:sam")
        )
    )
    todo = next(s for s in teams.connector.cards_to("a:sam") if "To do: Sam Patel" in card_text(s))
    (done,) = todo.body["attachments"][0]["content"]["actions"]
    await teams.post(activity(url, "sam", value=done["data"], reply_to_id="c2"))
    assert 0 in teams.services.bot.load("E-0001").actions_done


async def test_slack_quiet_hours_hold_a_reminder_until_8am_and_the_digest_comes_at_9(slack):
    from bot.commands import SetEarlierDue
    from support import london

    await slack_raise(slack)
    bot = slack.services.bot
    await slack.run(
        bot.handle,
        SetEarlierDue(actor="alex", escalation_id="E-0001", due=london(2026, 12, 3, 19, 30), reason="CP"),
    )
    slack.clock.set(london(2026, 12, 3, 19, 30))
    await slack.tick()
    assert not [m for m in slack.fake.messages if m["text"].startswith("Due now")]  # quiet hours
    slack.clock.set(london(2026, 12, 4, 8))
    await slack.tick()
    due_now = [m["channel"] for m in slack.fake.messages if m["text"].startswith("Due now")]
    assert sorted(due_now) == ["DUALEX", "DUSAM"]
    slack.clock.set(london(2026, 12, 4, 9))
    await slack.tick()
    (digest,) = [m for m in slack.fake.messages if m["channel"] == "DUDEE"]
    assert digest["text"] == "Overdue: 1 professional difference in your policies"


async def test_teams_reopen_needs_a_reason_and_returns_it_to_its_stage(teams):
    url = teams.connector.service_url
    for user in ("alex", "sam"):
        await teams.post(install(url, user))
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    resolve = {"action": "resolve_submit", "id": "E-0001", "outcome": "Stays open"}
    await teams.post(activity(url, "alex", value=resolve, reply_to_id="c1"))
    assert teams.services.bot.load("E-0001").status == "resolved"
    await teams.post(activity(url, "alex", value={"action": "reopen", "id": "E-0001"}, reply_to_id="c2"))
    await teams.connector.wait_until(
        lambda: any("Reopen E-0001" in card_text(s) for s in teams.connector.cards_to("a:alex"))
    )
    await teams.post(
        activity(url, "alex", value={"action": "reopen_submit", "id": "E-0001"}, reply_to_id="c3")
    )
    assert teams.services.bot.load("E-0001").status == "resolved"  # no reason: nothing changes
    why = {"action": "reopen_submit", "id": "E-0001", "reason": "Visits stopped again"}
    await teams.post(activity(url, "alex", value=why, reply_to_id="c4"))
    esc = teams.services.bot.load("E-0001")
    assert esc.is_open and esc.stage.number == 1
