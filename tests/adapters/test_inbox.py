"""The inbox: an event Slack was told we received is in the database before the answer, handled in
the order it came, once, and survives a stop; what it said is deleted once it is handled."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from adapters.inbox import GIVE_UP_AFTER, Inbox
from adapters.storage_thread import StorageThread
from bot.clock import ManualClock
from bot.storage import Storage
from fakes.slack_requests import event, fill, reply, slash, view_submission
from support import london


def make_inbox(tmp_path, handle) -> tuple[Storage, Inbox]:
    store = Storage.open(f"sqlite:///{tmp_path / 'bot.db'}")
    return store, Inbox(store, ManualClock(london(2026, 12, 1, 10)), "slack", handle, StorageThread())


async def test_an_event_is_handled_once_even_when_the_platform_sends_it_again(tmp_path):
    handled: list[str] = []

    async def handle(body):
        handled.append(body["text"])

    _, inbox = make_inbox(tmp_path, handle)
    assert await inbox.keep("Ev1", {"text": "first"})
    assert not await inbox.keep("Ev1", {"text": "first"})  # a retry while it waits
    await inbox.drain()
    assert not await inbox.keep("Ev1", {"text": "first"})  # a retry after it was handled
    await inbox.drain()
    assert handled == ["first"]


async def test_an_event_that_fails_waits_for_the_next_drain_and_keeps_its_place(tmp_path):
    handled: list[str] = []
    failures = {"first": 2}

    async def handle(body):
        if failures.get(body["text"], 0):
            failures[body["text"]] -= 1
            raise ConnectionError("Slack unreachable")
        handled.append(body["text"])

    _, inbox = make_inbox(tmp_path, handle)
    await inbox.keep("Ev1", {"text": "first"})
    await inbox.keep("Ev2", {"text": "second"})
    while len(handled) < 2:  # each drain that meets the failure stops there, and the next tries again
        await inbox.drain()
    assert handled == ["first", "second"]
    assert failures == {"first": 0}


async def test_an_event_the_bot_can_never_handle_is_set_aside_and_the_rest_go_on(tmp_path):
    handled: list[str] = []

    async def handle(body):
        if body["text"] == "poison":
            raise KeyError("user")
        handled.append(body["text"])

    store, inbox = make_inbox(tmp_path, handle)
    await inbox.keep("Ev1", {"text": "poison"})
    await inbox.keep("Ev2", {"text": "fine"})
    for _ in range(GIVE_UP_AFTER):
        await inbox.drain()
    assert handled == ["fine"]
    assert store.inbox_counts() == {"failed": 1}


async def test_an_event_kept_before_a_stop_is_handled_after_the_restart(tmp_path):
    async def never(body):
        raise AssertionError("the stop came first")

    store, inbox = make_inbox(tmp_path, never)
    await inbox.keep("Ev1", {"text": "Phoned the GP."})
    store.close()

    handled: list[str] = []

    async def handle(body):
        handled.append(body["text"])

    store, inbox = make_inbox(tmp_path, handle)
    await inbox.drain()
    assert handled == ["Phoned the GP."]
    # Once handled, what it said is gone from the inbox; only its id is remembered.
    conn = sqlite3.connect(tmp_path / "bot.db")
    assert conn.execute("SELECT COUNT(*) FROM inbox").fetchone() == (0,)
    assert conn.execute("SELECT event_id FROM seen_events").fetchall() == [("Ev1",)]


async def test_every_note_slack_is_answered_for_is_already_in_the_database(slack):
    assert (await slack.send(slash("UALEX", trigger_id="t")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t")
    form = {
        "risk_now": "no",
        "case_reference": "CIN-1",
        "counterpart": "dir:sam",
        "category": "threshold",
        "issue": "Closing too early.",
        "risk": "Baby of 8 months.",
        "outcome_wanted": "Keep it open.",
    }
    await slack.send(view_submission("UALEX", fill(opened.args["view"], **form)))
    slack.clock.advance(timedelta(seconds=1))
    await slack.tick()
    (case,) = [m for m in slack.fake.messages if m["channel"] == "DUALEX"]
    db = slack.services.settings.database_url.removeprefix("sqlite:///")
    for n in range(10):
        text = f"Note {n}."
        note = event(reply("UALEX", "DUALEX", case["ts"], text, f"1800000000.{n:06d}"), f"Ev{n}")
        assert (await slack.send(note, settle=False))[0] == 200
        # At the moment of the answer, the note is in the database: waiting, or recorded.
        conn = sqlite3.connect(db)
        waiting = conn.execute("SELECT COUNT(*) FROM inbox WHERE body LIKE ?", [f"%{text}%"]).fetchone()[0]
        recorded = conn.execute(
            "SELECT COUNT(*) FROM events WHERE kind = 'note_added' AND data LIKE ?", [f"%{text}%"]
        ).fetchone()[0]
        conn.close()
        assert waiting + recorded == 1
    await slack.fake.wait_for("reactions.add", count=10)
    assert [n.discussed for n in slack.services.bot.load("E-0001").notes] == [f"Note {n}." for n in range(10)]
