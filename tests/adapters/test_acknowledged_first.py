"""Slack and Teams are answered before the database work their requests cause, which runs in the
storage thread: a long sweep never holds up an acknowledgement that needs no database. Ordering,
never timing: each test holds something (the storage thread, Slack, Teams) and shows what was
answered while it was held, then what followed once it was let go."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from datetime import timedelta

from adapters.acknowledgements import AcknowledgementsFirst
from fakes.slack_requests import RAISE_ANSWERS, block_action, event, fill, reply, slash, view_submission
from fakes.teams_activities import activity, install
from support import escalations, raise_difference


@contextlib.asynccontextmanager
async def storage_thread_held(services) -> AsyncIterator[asyncio.Task]:
    """The storage thread busy, as in a long sweep, until the block ends; yields the busy work."""
    release = threading.Event()
    busy = asyncio.create_task(services.storage_thread.run(release.wait, 30))
    try:
        yield busy
    finally:
        release.set()
        await busy


async def test_a_slash_command_is_acknowledged_while_a_sweep_holds_the_storage_thread(slack):
    await slack.run(raise_difference, slack.services.bot)
    await slack.tick()
    slack.clock.advance(timedelta(days=7, hours=7))  # the stage's reminders are due
    async with storage_thread_held(slack.services) as busy:
        sweep = asyncio.create_task(slack.tick())  # the background step, waiting its turn
        status, _ = await slack.send(slash("UALEX", trigger_id="t-busy"), settle=False)
        assert status == 200
        assert not busy.done() and not sweep.done()  # answered while the thread was held
        assert slack.fake.called("views.open", trigger_id="t-busy") == []  # the form needs the directory
    await sweep
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-busy")
    assert opened.args["view"]["callback_id"] == "escalate_raise"
    assert any(m["text"].startswith("Due now") for m in slack.fake.messages)  # the sweep's reminders


async def test_a_button_is_acknowledged_while_the_storage_thread_is_held(slack):
    await slack.run(raise_difference, slack.services.bot)
    async with storage_thread_held(slack.services) as busy:
        button = block_action("UALEX", "esc:show", value="E-0001", trigger_id="t-show")
        assert (await slack.send(button, settle=False))[0] == 200
        assert not busy.done()
        assert slack.fake.called("views.open") == []
    (modal,) = await slack.fake.wait_for("views.open", trigger_id="t-show")
    assert "E-0001" in json.dumps(modal.args["view"])


async def test_a_list_is_acknowledged_first_and_answered_through_the_response_url(slack):
    await slack.run(raise_difference, slack.services.bot)
    url = slack.fake.response_url
    async with storage_thread_held(slack.services):
        # Help needs no database: it is the acknowledgement itself, even now.
        status, body = await slack.send(slash("UALEX", "help", response_url=url), settle=False)
        assert status == 200 and "/escalate list" in json.dumps(json.loads(body)["blocks"])
        status, body = await slack.send(slash("UALEX", "list", response_url=url), settle=False)
        assert (status, body) == (200, "")
        assert slack.fake.responses() == []
    (answer,) = [r for r in await slack.fake.wait_for("response_url")]
    assert "E-0001" in json.dumps(answer.args) and answer.args["response_type"] == "ephemeral"


async def test_the_raise_form_closes_before_the_raise_and_the_confirmation_follows(slack):
    store = slack.services.bot.store
    assert (await slack.send(slash("UALEX", trigger_id="t-form")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-form")
    # An earlier reply, in a thread the bot must ask Slack about, is being handled from the inbox
    # while Slack is slow to answer: what is kept after it waits its turn.
    slack_answers = slack.fake.hold("conversations.replies")
    earlier = event(reply("USAM", "DUSAM", "1700000000.000001", "Hello?", "1700000000.000002"), "EvEarly")
    assert (await slack.send(earlier, settle=False))[0] == 200
    await slack.fake.wait_for("conversations.replies")

    submitted = view_submission("UALEX", fill(opened.args["view"], **RAISE_ANSWERS))
    assert await slack.send(submitted, settle=False) == (200, "")  # the form closes
    assert escalations(store) == []  # before the raise is recorded
    assert store.inbox_counts() == {"pending": 2}  # but it is kept: nothing answered is lost

    slack_answers.set()
    (case,) = await slack.fake.wait_for("chat.postMessage", channel="UALEX")
    assert "You raised E-0001 with Sam Patel" in json.dumps(case.args)
    assert [e.case_reference for e in escalations(store)] == ["CIN-20931"]


async def test_a_raise_form_whose_counterpart_has_left_is_answered_beside_the_field(slack):
    assert (await slack.send(slash("UALEX", trigger_id="t-form")))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-form")
    await slack.run(slack.services.bot.deactivate, "sam")
    status, body = await slack.send(view_submission("UALEX", fill(opened.args["view"], **RAISE_ANSWERS)))
    assert status == 200
    assert json.loads(body) == {
        "response_action": "errors",
        "errors": {"counterpart": "Sam Patel has left. Choose who now does their work."},
    }
    assert escalations(slack.services.bot.store) == []


async def test_teams_answers_an_activity_before_its_turn_runs(teams):
    url = teams.connector.service_url
    await teams.post(install(url, "alex"))
    await teams.connector.wait_until(lambda: teams.connector.cards_to("a:alex"))
    before = len(teams.connector.cards_to("a:alex"))
    connector = teams.connector.hold()  # the turn's reply waits, for as long as the test says
    status, _ = await teams.post(activity(url, "alex", text="escalate list"), settle=False)
    assert status == 201  # answered: kept in the inbox, the turn not yet over
    await teams.connector.wait_until(lambda: teams.connector.held == 1)
    assert len(teams.connector.cards_to("a:alex")) == before
    connector.set()
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to("a:alex")) > before)
    await teams.settle()
    assert teams.services.bot.store.inbox_counts() == {}  # handled, and what it said forgotten


async def test_work_after_an_acknowledgement_lets_waiting_acknowledgements_go_first():
    acks = AcknowledgementsFirst()
    assert await asyncio.wait_for(acks.turn(), 1) is False  # nobody waiting: no wait
    with acks.answering():  # a request not yet acknowledged
        work = asyncio.create_task(acks.turn())
        await asyncio.sleep(0)
        assert not work.done()
    await work  # its acknowledgement sent: the work goes on


async def test_work_waits_for_a_burst_only_so_long_and_says_it_stopped_waiting(monkeypatch):
    monkeypatch.setattr("adapters.acknowledgements.PATIENCE", 0.05)
    acks = AcknowledgementsFirst()
    with acks.answering():  # a request that is never acknowledged in time
        assert await asyncio.wait_for(acks.turn(), 1) is True
    with acks.answering():
        work = asyncio.create_task(acks.turn())
        await asyncio.sleep(0)
    assert await work is False  # answered within the patience


async def test_background_work_waits_for_a_burst_to_end_but_not_for_a_steady_stream(monkeypatch):
    monkeypatch.setattr("adapters.acknowledgements.LULL", 0.2)
    monkeypatch.setattr("adapters.acknowledgements.PATIENCE", 0.3)
    acks = AcknowledgementsFirst()
    assert await asyncio.wait_for(acks.lull(), 1) is False  # no request yet: no wait
    with acks.answering():
        pass  # one answered just now: others of its burst may be on their way
    work = asyncio.create_task(acks.lull())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not work.done()
    assert await asyncio.wait_for(work, 1) is False  # a lull came

    async def stream() -> None:
        while True:
            with acks.answering():
                await asyncio.sleep(0)
            await asyncio.sleep(0.02)

    requests = asyncio.create_task(stream())
    try:
        assert await asyncio.wait_for(acks.lull(), 2) is True  # no lull: it stopped waiting
    finally:
        requests.cancel()
