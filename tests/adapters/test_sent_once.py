"""A message Slack took whose answer never came back is found by its outbox id, not sent again."""

from __future__ import annotations

import json
from datetime import timedelta

from fakes.slack_api import Failure
from fakes.slack_requests import RAISE_ANSWERS as FORM
from fakes.slack_requests import event, fill, reply, slash, view_submission


async def raise_(slack) -> None:
    assert (await slack.send(slash("UALEX", trigger_id="t-1")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-1")
    assert (await slack.send(view_submission("UALEX", fill(opened.args["view"], **FORM))))[0] == 200


async def settle(slack, rounds: int = 6) -> None:
    """Let every retry fall due and run, as the background loop would over the next minutes."""
    for _ in range(rounds):
        slack.clock.advance(timedelta(minutes=1))
        await slack.tick()


def in_dm(slack, channel: str) -> list[dict]:
    """What the person sees at the top level of their DM with the bot, oldest first."""
    return [m for m in slack.fake.messages if m["channel"] == channel and m["thread_ts"] is None]


def in_thread(slack, channel: str, ts: str) -> list[dict]:
    return [m for m in slack.fake.messages if m["channel"] == channel and m["thread_ts"] == ts]


async def test_a_case_message_whose_answer_was_lost_leaves_one_thread_not_two(slack):
    # Slack posts Alex's case message, then the connection drops before its answer arrives.
    slack.fake.fail("chat.postMessage", Failure(500, accepted=True))
    await raise_(slack)
    await settle(slack)

    (case,) = in_dm(slack, "DUALEX")
    assert "You raised a professional difference with Sam Patel" in json.dumps(case["blocks"])
    assert len(in_dm(slack, "DUSAM")) == 1
    assert slack.services.bot.store.outbox_counts() == {"delivered": 2}
    # The retry looked for it, in Alex's DM, by its outbox id.
    (looked,) = slack.fake.called("conversations.history")
    assert looked.args["channel"] == "DUALEX"
    # The message found is the case thread: Alex's reply under it is recorded.
    note = event(reply("UALEX", "DUALEX", case["ts"], "Phoned Sam at 2pm.", "1800000000.000001"), "Ev1")
    assert (await slack.send(note))[0] == 200
    await slack.fake.wait_for("reactions.add")
    assert [n.discussed for n in slack.services.bot.load("E-0001").notes] == ["Phoned Sam at 2pm."]


async def test_a_post_whose_connection_dropped_is_looked_for_not_sent_again_at_once(slack):
    # Slack posts Alex's case message, then the connection closes with no answer at all. The
    # Slack SDK's own retry would post it again straight away, without looking.
    slack.fake.fail("chat.postMessage", Failure(accepted=True, dropped=True))
    await raise_(slack)
    await settle(slack)

    assert len(in_dm(slack, "DUALEX")) == 1 and len(in_dm(slack, "DUSAM")) == 1
    assert slack.services.bot.store.outbox_counts() == {"delivered": 2}
    (looked,) = slack.fake.called("conversations.history")
    assert looked.args["channel"] == "DUALEX"


async def test_a_reply_under_a_case_message_the_bot_lost_track_of_is_still_recorded(slack):
    # Slack shows Alex the case message, but the bot never heard back: it does not know the ts.
    slack.fake.fail("chat.postMessage", Failure(500, accepted=True))
    await raise_(slack)
    await slack.fake.wait_for("chat.postMessage", count=2)
    (case,) = in_dm(slack, "DUALEX")
    note = event(
        reply("UALEX", "DUALEX", case["ts"], "Phoned Sam straight away.", "1800000000.000009"), "Ev9"
    )
    assert (await slack.send(note))[0] == 200
    await slack.fake.wait_for("reactions.add")
    # The thread's first message named its outbox message, and so the escalation.
    assert [n.discussed for n in slack.services.bot.load("E-0001").notes] == ["Phoned Sam straight away."]
    assert not slack.fake.called("chat.postEphemeral")
    await settle(slack)
    assert len(in_dm(slack, "DUALEX")) == 1  # and the retry found it rather than posting it again


async def test_a_note_relayed_into_a_thread_is_not_relayed_twice(slack):
    await raise_(slack)
    await settle(slack, 2)
    (case,) = in_dm(slack, "DUSAM")
    (alex_case,) = in_dm(slack, "DUALEX")
    # Both posts the note causes (Alex's confirmation, the relay to Sam) go, and both answers are lost.
    slack.fake.fail("chat.postMessage", Failure(502, accepted=True), Failure(502, accepted=True))
    note = event(reply("UALEX", "DUALEX", alex_case["ts"], "Spoke to the GP.", "1800000000.000002"), "Ev2")
    assert (await slack.send(note))[0] == 200
    await slack.fake.wait_for("reactions.add")
    await settle(slack)

    relayed = [m for m in in_thread(slack, "DUSAM", case["ts"]) if "Spoke to the GP." in json.dumps(m)]
    assert len(relayed) == 1
    confirmed = [m for m in in_thread(slack, "DUALEX", alex_case["ts"]) if "Noted on E-0001" in m["text"]]
    assert len(confirmed) == 1
    looked = {(c.args["channel"], c.args["ts"]) for c in slack.fake.called("conversations.replies")}
    assert looked == {("DUSAM", case["ts"]), ("DUALEX", alex_case["ts"])}


async def test_each_part_of_a_long_message_arrives_once_when_an_answer_is_lost(slack):
    from bot.messages import Message, MessageKind

    text = "E-0001 · case CIN-1 · Camden policy\n" + "\n".join(
        f"Line {i}: " + "word " * 500 for i in range(40)
    )
    store = slack.services.bot.store
    await slack.run(
        store.enqueue, [Message(to="alex", text=text, kind=MessageKind.NOTICE)], now=slack.clock.now()
    )
    # The first part goes and is answered; the second goes but its answer is lost.
    slack.fake.fail("chat.postMessage", Failure(200), Failure(500, accepted=True))
    await settle(slack)

    parts = [m["metadata"]["event_payload"]["part"] for m in slack.fake.messages]
    assert len(parts) >= 3 and sorted(parts) == list(range(len(parts)))
    assert store.outbox_counts() == {"delivered": 1}


async def test_every_message_names_its_outbox_id_and_nothing_it_says(slack):
    await raise_(slack)
    await settle(slack, 2)
    for posted in slack.fake.messages:
        meta = posted["metadata"]
        assert meta["event_type"] == "escalation_bot_message"
        assert set(meta["event_payload"]) == {"outbox_id", "part"}
    ids = [m["metadata"]["event_payload"]["outbox_id"] for m in slack.fake.messages]
    assert len(ids) == len(set(ids)) == 2


async def test_when_slack_will_not_let_the_bot_look_it_sends_again_rather_than_never(slack):
    slack.fake.fail("chat.postMessage", Failure(500, accepted=True))
    slack.fake.fail("conversations.history", Failure(error="missing_scope"))
    await raise_(slack)
    await settle(slack)
    # A duplicate is the lesser harm: Alex has the message (twice), and nothing is stuck.
    twice = in_dm(slack, "DUALEX")
    assert [json.dumps(m["blocks"]).count("You raised a professional difference") for m in twice] == [1, 1]
    assert slack.services.bot.store.outbox_counts() == {"delivered": 2}


async def test_a_read_whose_connection_dropped_is_tried_again_at_once_a_post_is_not():
    from aiohttp import ServerDisconnectedError
    from slack_sdk.http_retry.request import HttpRequest
    from slack_sdk.http_retry.state import RetryState

    from adapters.slack.client import ReadsRetried

    async def retried(method: str) -> bool:
        request = HttpRequest(method="POST", url=f"https://slack.com/api/{method}", headers={})
        return await ReadsRetried().can_retry_async(
            state=RetryState(), request=request, response=None, error=ServerDisconnectedError()
        )

    assert await retried("conversations.history") and await retried("users.info")
    assert not await retried("chat.postMessage") and not await retried("files.completeUploadExternal")
