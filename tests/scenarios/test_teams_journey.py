"""The whole journey in Teams, over real HTTP, against a fake Bot Connector."""

from __future__ import annotations

from fakes.bot_connector import card_text
from fakes.teams_activities import RAISE, activity, install
from support import london


def submit(teams, user: str, value: dict, reply_to: str = "card-1") -> dict:
    return activity(teams.connector.service_url, user, value=value, reply_to_id=reply_to)


async def test_the_whole_journey_in_teams(teams):
    fake = teams.connector
    url = fake.service_url

    # Installing the app stores the conversation and greets with a short card.
    for user in ("alex", "jo"):
        assert (await teams.post(install(url, user)))[0] in {200, 201}
    await fake.wait_until(lambda: len(fake.cards_to("a:alex")) == 1 and len(fake.cards_to("a:jo")) == 1)
    assert "Type 'escalate'" in card_text(fake.cards_to("a:alex")[0])

    # "escalate" answers with the immediate-risk question first, then the form.
    await teams.post(activity(url, "alex", text="escalate"))
    await fake.wait_until(lambda: len(fake.cards_to("a:alex")) == 2)
    assert "immediate risk" in card_text(fake.cards_to("a:alex")[1])
    await teams.post(submit(teams, "alex", {"action": "risk_answer", "risk_now": "no", "policy": "camden"}))
    await fake.wait_until(lambda: len(fake.cards_to("a:alex")) == 3)
    form = card_text(fake.cards_to("a:alex")[2])
    assert "The agency's case reference" in form and "Stage 1 is due by 5pm Tue 8 Dec 2026" in form

    # Submitting it: the form is replaced in place, the case card goes to the raiser, and the
    # counterpart (never talked to the bot) gets a proactive message in a new 1:1 conversation.
    await teams.post(submit(teams, "alex", RAISE, reply_to="form-card"))
    await fake.wait_until(
        lambda: any(s.verb == "create" for s in fake.sent) and fake.cards_to("a:new-aad-sam")
    )
    (created,) = [s for s in fake.sent if s.verb == "create"]
    assert created.body["members"][0]["id"] == "aad-sam"
    to_sam = card_text(fake.cards_to("a:new-aad-sam")[0])
    assert "Alex Morgan" in to_sam and "missed appointments" in to_sam and "Add note" in to_sam
    await fake.wait_until(lambda: any("You raised" in card_text(s) for s in fake.cards_to("a:alex")))
    assert any(s.verb == "update" and s.activity_id == "form-card" for s in fake.sent)

    # Notes: in a 1:1 chat the Add note action opens the note form.
    await teams.post(submit(teams, "alex", {"action": "add_note", "id": "E-0001"}))
    await fake.wait_until(
        lambda: any("Form of communication" in card_text(s) for s in fake.cards_to("a:alex"))
    )
    note = {
        "action": "note_submit",
        "id": "E-0001",
        "form": "Phone call",
        "involved": "Alex, Sam",
        "discussed": "Phoned Sam; we disagree.",
        "outcome": "Going to managers",
    }
    await teams.post(submit(teams, "alex", note, reply_to="note-card"))
    sam_note = {**note, "discussed": "Sam: the family is engaging.", "involved": "Sam, Alex"}
    await teams.post(activity(url, "sam", value=sam_note, conversation="a:new-aad-sam", reply_to_id="n2"))
    record = await teams.run(teams.services.bot.export, "alex", "E-0001")
    assert "Phoned Sam; we disagree." in record and "Sam: the family is engaging." in record
    assert "Phone call" in record

    # The clock moves on: a reminder reaches both, by their stored conversations.
    teams.clock.set(london(2026, 12, 8, 9, 0))
    await teams.tick()
    for conversation in ("a:alex", "a:new-aad-sam"):
        assert any("Reminder: stage 1 is due" in card_text(s) for s in fake.cards_to(conversation))

    # Escalate to stage 2: both managers are messaged with the history.
    await teams.post(submit(teams, "alex", {"action": "escalate", "id": "E-0001"}))
    await teams.post(
        submit(teams, "alex", {"action": "escalate_submit", "id": "E-0001", "reason": "No agreement"})
    )
    await fake.wait_until(lambda: bool(fake.cards_to("a:jo")[1:]) and bool(fake.cards_to("a:new-aad-priya")))
    for conversation in ("a:jo", "a:new-aad-priya"):
        welcome = card_text(fake.cards_to(conversation)[-1])
        assert "What each side has said" in welcome and "Phoned Sam; we disagree." in welcome

    # Resolution: everyone is told, and the case cards update in place.
    await teams.post(
        activity(
            url,
            "jo",
            value={
                "action": "resolve_submit",
                "id": "E-0001",
                "outcome": "Visits continue",
                "agreed_actions": "Joint visit",
            },
        )
    )
    await fake.wait_until(
        lambda: (
            sum("Resolved: Jo Bennett closed E-0001" in card_text(s) for s in fake.sent if s.verb != "update")
            == 4
        )
    )
    await teams.tick()
    assert any(s.verb == "update" and "Status: resolved" in card_text(s) for s in fake.sent)

    # Export: the record for the child's file.
    await teams.post(activity(url, "alex", text="escalate export E-0001"))
    consent = "application/vnd.microsoft.teams.card.file.consent"
    await fake.wait_until(
        lambda: any(a["contentType"] == consent for s in fake.sent for a in s.body.get("attachments") or [])
    )
    assert not any("# Case record" in card_text(s) for s in fake.sent)  # never raw Markdown
    assert not any("something went wrong" in card_text(s) for s in fake.sent)
