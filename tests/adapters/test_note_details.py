"""A reply in the case thread becomes a full record entry in two taps and a short form: how it
happened, who was involved and the outcome, as the policies ask every record to show."""

from __future__ import annotations

from datetime import timedelta

from fakes.bot_connector import card_text
from fakes.slack_requests import RAISE_ANSWERS as FORM
from fakes.slack_requests import block_action, event, fill, reply, slash, view_submission
from fakes.teams_activities import RAISE, activity, install


async def deliver(slack) -> None:
    slack.clock.advance(timedelta(seconds=1))
    await slack.tick()


async def test_slack_a_threaded_reply_is_completed_with_two_taps_and_exported_in_full(slack):
    assert (await slack.send(slash("UALEX", trigger_id="t-1")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-1")
    await slack.send(view_submission("UALEX", fill(opened.args["view"], **FORM)))
    await deliver(slack)
    (case,) = [m for m in slack.fake.messages if m["channel"] == "DUALEX" and m["thread_ts"] is None]
    said = "Phoned Sam at 2pm; she will check with the GP."
    await slack.send(event(reply("UALEX", "DUALEX", case["ts"], said, "1800000000.000001"), "Ev1"))
    await slack.fake.wait_for("reactions.add")
    await deliver(slack)
    (confirm,) = [m for m in slack.fake.messages if m["thread_ts"] == case["ts"] and "Noted" in m["text"]]
    buttons = {e["action_id"]: e for b in confirm["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert [b["text"]["text"] for b in buttons.values()] == [
        "Phone call",
        "Meeting",
        "Email",
        "Just this message",
        "Add who and outcome",
    ]

    # Tap one: how it happened.
    phone = buttons["esc:note_phone"]
    await slack.send(block_action("UALEX", "esc:note_phone", value=phone["value"]))
    # Tap two: who and the outcome, in a short form.
    details = buttons["esc:note_details"]
    await slack.send(block_action("UALEX", "esc:note_details", value=details["value"], trigger_id="t-2"))
    (form,) = await slack.fake.wait_for("views.open", trigger_id="t-2")
    answers = {"involved": "Alex Morgan and Sam Patel", "outcome": "Sam to ask the GP by Friday"}
    assert (await slack.send(view_submission("UALEX", fill(form.args["view"], **answers))))[0] == 200

    record = await slack.run(slack.services.bot.export, "alex", "E-0001")
    entry = record.split("Case note")[1].split("###")[0]
    assert "- **Form of communication:** Phone call (details added" in entry
    assert "- **Who was involved:** Alex Morgan and Sam Patel" in entry
    assert f"- **What was discussed:** {said}" in entry
    assert "- **Outcome:** Sam to ask the GP by Friday" in entry


async def test_slack_only_the_author_can_detail_a_note(slack):
    assert (await slack.send(slash("UALEX", trigger_id="t-1")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-1")
    await slack.send(view_submission("UALEX", fill(opened.args["view"], **FORM)))
    await deliver(slack)
    (case,) = [m for m in slack.fake.messages if m["channel"] == "DUALEX" and m["thread_ts"] is None]
    await slack.send(event(reply("UALEX", "DUALEX", case["ts"], "Phoned Sam.", "1800000000.000001"), "Ev1"))
    await slack.fake.wait_for("reactions.add")
    seq = slack.services.bot.load("E-0001").notes[0].seq
    await slack.send(block_action("USAM", "esc:note_meeting", value=f"E-0001|{seq}"))
    (told,) = await slack.fake.wait_for("chat.postEphemeral", user="USAM")
    assert told.args["text"] == "Only the person who wrote a note can add its details."
    assert slack.services.bot.load("E-0001").notes[0].form == "Slack message in the case thread"


async def test_teams_a_channel_reply_is_completed_from_the_buttons_in_the_authors_chat(teams):
    url = teams.connector.service_url
    for user in ("alex", "sam"):
        await teams.post(install(url, user))
    thread = "19:general@thread.tacv2;messageid=1700"
    raised = activity(
        url, "alex", value=RAISE, conversation=thread, conversation_type="channel", reply_to_id="form-1"
    )
    await teams.post(raised)
    note = activity(
        url,
        "alex",
        text="<at>Escalation bot</at> Met Sam today.",
        conversation=thread,
        conversation_type="channel",
    )
    await teams.post(note)
    await teams.tick()
    await teams.connector.wait_until(
        lambda: any("Noted on E-0001" in card_text(s) for s in teams.connector.cards_to("a:alex"))
    )
    confirm = next(s for s in teams.connector.cards_to("a:alex") if "Noted on E-0001" in card_text(s))
    actions = confirm.body["attachments"][0]["content"]["actions"]
    by_action = {a["data"]["action"]: a["data"] for a in actions}
    assert list(by_action) == ["note_phone", "note_meeting", "note_email", "note_message", "note_details"]
    await teams.post(activity(url, "alex", value=by_action["note_meeting"], reply_to_id="c1"))
    details = {**by_action["note_details"], "action": "note_details_submit"}
    await teams.post(
        activity(
            url,
            "alex",
            value={**details, "involved": "Alex and Sam", "outcome": "Joint visit"},
            reply_to_id="c2",
        )
    )
    (note_now,) = teams.services.bot.load("E-0001").notes
    assert (note_now.form, note_now.involved, note_now.outcome) == ("Meeting", "Alex and Sam", "Joint visit")
