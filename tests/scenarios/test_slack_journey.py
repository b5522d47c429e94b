"""The whole journey in Slack, over real HTTP with signed requests, against a fake Web API."""

from __future__ import annotations

from fakes.slack_api import Call
from fakes.slack_requests import block_action, event, fill, reply, slash, view_submission
from support import london


def texts(call) -> str:
    """Everything a chat.postMessage call would show: its blocks' text and its buttons."""
    parts = [call.args.get("text") or ""]
    for block in call.args.get("blocks") or []:
        if block.get("text"):
            parts.append(block["text"]["text"])
        for element in block.get("elements") or []:
            if isinstance(element.get("text"), dict):
                parts.append(element["text"]["text"])
            elif isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)


async def raise_difference(slack, **answers) -> None:
    status, _ = await slack.send(slash("UALEX"))
    assert status == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="trigger-1")
    form = {
        "risk_now": "no",
        "case_reference": "CIN-20931",
        "counterpart": "dir:sam",
        "category": "threshold",
        "issue": "Health visiting plans to close the case.",
        "risk": "Baby of 8 months; missed appointments.",
        "outcome_wanted": "Keep health visiting open until the review.",
    }
    form.update(answers)
    status, body = await slack.send(view_submission("UALEX", fill(opened.args["view"], **form)))
    assert (status, body) == (200, "")


async def test_the_whole_journey_in_slack(slack):
    fake = slack.fake

    # /escalate opens the form, immediate-risk question first.
    await raise_difference(slack)
    view = fake.called("views.open")[0].args["view"]
    assert view["blocks"][0]["block_id"] == "risk_now"
    assert "Stage 1 is due by 5pm Tue 8 Dec 2026" in str(view["blocks"][-1])

    # The case message in the raiser's DM, and the counterpart's DM with their own buttons.
    await fake.wait_for("chat.postMessage", count=2)
    (case,) = fake.called("chat.postMessage", channel="UALEX")
    (to_sam,) = fake.called("chat.postMessage", channel="USAM")
    assert (
        "E-0001" in texts(case) and "CIN-20931" in texts(case) and "Due by 5pm Tue 8 Dec 2026" in texts(case)
    )
    for label in ("Add note", "Resolved", "Escalate to next stage", "Withdraw", "Set an earlier due time"):
        assert label in texts(case)
    assert "Alex Morgan" in texts(to_sam) and "missed appointments" in texts(to_sam)
    assert "Withdraw" not in texts(to_sam)

    # Two threaded replies are recorded as notes and confirmed with a reaction.
    a_channel, a_ts = case.response["channel"], case.response["ts"]
    s_channel, s_ts = to_sam.response["channel"], to_sam.response["ts"]
    await slack.send(
        event(reply("USAM", s_channel, s_ts, "Phoned Alex; we disagree.", "1700000100.000001"), "Ev1")
    )
    await slack.send(
        event(reply("UALEX", a_channel, a_ts, "Agreed to talk to managers.", "1700000100.000002"), "Ev2")
    )
    await fake.wait_for("reactions.add", count=2)
    record = slack.services.bot.export("alex", "E-0001")
    assert "Phoned Alex; we disagree." in record and "Agreed to talk to managers." in record

    # The clock moves on: the morning of the due day brings a reminder, in the thread and the DM.
    slack.clock.set(london(2026, 12, 8, 9, 0))
    await slack.tick()
    reminders = [c for c in fake.called("chat.postMessage") if "Reminder: stage 1 is due" in texts(c)]
    assert {c.args["channel"] for c in reminders} == {a_channel, s_channel}
    assert all(c.args.get("thread_ts") and c.args.get("reply_broadcast") for c in reminders)

    # Escalate to stage 2: the form, then both managers are DM'd with the history.
    await slack.send(block_action("UALEX", "esc:escalate", value="E-0001", trigger_id="trigger-2"))
    (next_form,) = await fake.wait_for("views.open", trigger_id="trigger-2")
    await slack.send(view_submission("UALEX", fill(next_form.args["view"], reason="No agreement")))
    for manager in ("UJO", "UPRIYA"):
        (welcome,) = await fake.wait_for("chat.postMessage", channel=manager)
        assert "What each side has said" in texts(welcome) and "Phoned Alex; we disagree." in texts(welcome)
        assert "Stage 2: Discussion between frontline managers" in texts(welcome)
    moved = [c for c in fake.called("chat.postMessage") if "moved this to the next stage" in texts(c)]
    assert {c.args["channel"] for c in moved} == {a_channel, s_channel}
    assert all(c.args.get("thread_ts") for c in moved)

    # Resolution: the challenged side's manager proposes it; the raising side's manager agrees.
    await slack.send(block_action("UPRIYA", "esc:resolve", value="E-0001", trigger_id="trigger-3"))
    (resolve_form,) = await fake.wait_for("views.open", trigger_id="trigger-3")
    submitted = fill(
        resolve_form.args["view"], outcome="Visits continue", agreed_actions="Joint visit by Friday"
    )
    assert (await slack.send(view_submission("UPRIYA", submitted)))[0] == 200

    def proposals(posted: list[Call]) -> list[Call]:
        return [c for c in posted if c.args.get("channel") == "UJO" and "proposes E-0001" in texts(c)]

    asked = proposals(await fake.posts_until(proposals))
    assert asked[0].args["text"] == "Resolved? Priya Nair proposes E-0001 is resolved"
    assert slack.services.bot.list_for("alex").rows[0].status == "open"
    await slack.send(block_action("UJO", "esc:agree_resolved", value="E-0001"))

    def agreed(posted: list[Call]) -> list[Call]:
        return [c for c in posted if "agreed by Priya Nair and Jo Bennett" in texts(c)]

    done = agreed(await fake.posts_until(lambda posted: len(agreed(posted)) >= 4))
    assert len(done) == 4  # once each
    # In each person's direct messages, not only the case thread.
    assert {c.args["channel"] for c in done} == {"UALEX", "USAM", "UJO", "UPRIYA"}
    assert not any(c.args.get("thread_ts") for c in done)
    assert slack.services.bot.list_for("alex").rows[0].status == "resolved"

    # Export: the record arrives as a file, only for people on the escalation.
    (answer,) = await slack.ask("UALEX", "export E-0001")
    assert "on its way to you as a file" in answer["text"]
    (complete,) = await fake.wait_for("files.completeUploadExternal")
    assert complete.args["channel_id"] == "DUALEX"
    (content,) = fake.uploads.values()
    assert b"# Case record: escalation E-0001" in content and b"Visits continue" in content
