"""Two `escalation-bot serve` replicas share one PostgreSQL through a simulated week: 500
differences raised, the reminders they plan falling due, one replica killed with SIGKILL midweek
and started again later. Slack is the local fake, counting what reached it.

Both replicas' clocks follow one libfaketime offset file, moved forward four hours a step; the
test raises through the core on the same database with a clock at the same time, as another
replica would. At the end every message queued has been delivered, none reached Slack twice, and
both replicas sent some of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import psycopg
import pytest
from test_crash import faketime_env, free_port, until_up

from bot.clock import ManualClock
from bot.core import EscalationBot
from bot.people import Person
from bot.policy import PolicyLibrary
from bot.storage import Storage
from fakes.slack_api import FakeSlack, slack_user
from fakes.slack_requests import SECRET
from support import cli_process, raise_difference

ESCALATIONS = 500
STEPS = 7 * 6  # a week, four hours a step
HOURS_PER_STEP = 4
KILLED_AT, RESTARTED_AT = 15, 23  # A is down for a day and a half, midweek
DRAIN_HOURS = 48

PEOPLE = [
    Person("alex", "Alex Morgan", "Camden Children's Services", "Social Worker", manager_id="jo",
           slack_id="UALEX"),
    Person("jo", "Jo Bennett", "Camden Children's Services", "Team Manager", manager_id="ravi",
           slack_id="UJO"),
    Person("ravi", "Ravi Shah", "Camden Children's Services", "Service Manager", slack_id="URAVI"),
    Person("sam", "Sam Patel", "Whittington Health", "Health Visitor", manager_id="priya",
           slack_id="USAM"),
    Person("priya", "Priya Nair", "Whittington Health", "Health Visiting Team Lead",
           slack_id="UPRIYA"),
]  # fmt: skip


class Replica:
    """One `serve` process on its own port, its clock read from the shared offset file."""

    def __init__(self, name: str, tmp: Path, url: str, fake: FakeSlack, offset_file: Path) -> None:
        self.name, self.port = name, free_port()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),
            "DATABASE_URL": url,
            "PORT": str(self.port),
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.base_url,
            "WORK_CHECK_SECONDS": "0.2",
            # Longer than a step of the simulated clock: a jump never lapses a live sender's lease;
            # a dead one's lapses two steps later and the other replica takes its messages over.
            "OUTBOX_LEASE_SECONDS": str(5 * 3600),
            **faketime_env(),
            "FAKETIME_TIMESTAMP_FILE": str(offset_file),
            # The file is read again once a second at most (reading it at every call costs more
            # than the replicas' own work): `move_clocks` waits for the next second.
            "FAKETIME_CACHE_DURATION": "0",
        }
        self.process: asyncio.subprocess.Process | None = None
        self.log = tmp / f"replica-{name}.log"
        self.sent_before_kill = 0.0
        self.owner = ""  # the id its claims carry, while it runs

    async def start(self, session: aiohttp.ClientSession) -> None:
        with self.log.open("ab") as log:
            self.process = await cli_process(self.env, "serve", stderr=log)
        await until_up(session, self.port)
        async with session.get(f"http://127.0.0.1:{self.port}/metrics") as response:
            text = await response.text()
        self.owner = text.split('escalation_bot_replica{replica="', 1)[1].split('"', 1)[0]

    async def sent(self, session: aiohttp.ClientSession) -> float:
        """Messages this process has delivered since it started, from its /metrics."""
        async with session.get(f"http://127.0.0.1:{self.port}/metrics") as response:
            text = await response.text()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("escalation_bot_messages_sent_total{")
        )

    async def kill(self, session: aiohttp.ClientSession) -> None:
        self.sent_before_kill += await self.sent(session)
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.owner = ""

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            await self.process.wait()


def fresh_database(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


async def quiet(url: str, live: set[str], settle: int = 3) -> None:
    """Wait until no live replica holds a message it is sending and nothing has been delivered for
    `settle` tenths of a second: time moves on between bursts of work, as it does for real, never
    within a send (a clock that jumps hours mid-send would lapse a live sender's lease; a dead
    one's claims are left to lapse)."""
    last, still = None, 0
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(600):
            await asyncio.sleep(0.1)
            delivered, sending = conn.execute(
                "SELECT COUNT(*) FILTER (WHERE status = 'delivered'),"
                " COUNT(*) FILTER (WHERE status = 'sending' AND claimed_by = ANY(%s)) FROM outbox",
                [list(live)],
            ).fetchone()
            still = still + 1 if delivered == last and sending == 0 else 0
            if still >= settle:
                return
            last = delivered


async def move_clocks(offset_file: Path, offset: float) -> None:
    """Move both replicas' clocks to `offset` seconds ahead, and wait until both have read it:
    libfaketime reads the file again at the first call in a later second than its last read."""
    offset_file.write_text(f"+{int(offset)}\n")
    written = time.time()
    await asyncio.sleep(math.ceil(written) - written + 0.05)


def stuck(url: str) -> list[tuple]:
    """What is left in the outbox, for a failure to show."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT status, claimed_by, attempts, MIN(next_attempt_at), MAX(next_attempt_at), COUNT(*),"
            " MAX(last_error) FROM outbox WHERE status <> 'delivered'"
            " GROUP BY status, claimed_by, attempts"
        ).fetchall()


def logs(*replicas: Replica) -> str:
    return "\n".join(r.log.read_text()[-3000:] for r in replicas)


def work_left(url: str, now: datetime) -> tuple[dict[str, int], int]:
    with psycopg.connect(url) as conn:
        outbox = dict(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
        due = conn.execute(
            "SELECT COUNT(*) FROM reminders WHERE status = 'pending' AND due_at <= %s",
            [now.astimezone(UTC).isoformat(timespec="seconds")],
        ).fetchone()[0]
    return outbox, due


@pytest.mark.timeout(600)
async def test_two_replicas_share_a_week_and_send_nothing_twice(tmp_path, postgres_server):
    url = fresh_database(postgres_server, "replicas")
    offset_file = tmp_path / "faketime"
    offset = 0.0
    offset_file.write_text("+0\n")
    fake = FakeSlack({p.slack_id: slack_user(p.slack_id, p.name) for p in PEOPLE})
    await fake.start()
    fake.clock = lambda: time.time() + offset
    store = Storage.open(url)
    store.upsert_people(PEOPLE)
    clock = ManualClock(datetime.now(UTC))
    bot = EscalationBot(store=store, policies=PolicyLibrary.load(), clock=clock)
    a = Replica("A", tmp_path, url, fake, offset_file)
    b = Replica("B", tmp_path, url, fake, offset_file)
    raised = 0
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            await a.start(session)
            await b.start(session)
            for step in range(STEPS):
                offset += HOURS_PER_STEP * 3600
                await move_clocks(offset_file, offset)
                clock.set(datetime.fromtimestamp(time.time() + offset, UTC))
                for _ in range(ESCALATIONS * (step + 1) // STEPS - raised):
                    raised += 1
                    # Every third is urgent: 24 hours a stage, so reminders fall due within the week.
                    raise_difference(bot, case_reference=f"CIN-{raised:05d}", urgent=raised % 3 == 0)
                if step == KILLED_AT:
                    await a.kill(session)
                if step == RESTARTED_AT:
                    await a.start(session)
                await quiet(url, {a.owner, b.owner} - {""})
            # The week goes on, an hour at a time, until the replicas have caught up: a send that
            # failed waits its backoff in the replicas' time, which only moves when the file does.
            for _ in range(DRAIN_HOURS):
                outbox, due = work_left(url, datetime.fromtimestamp(time.time() + offset - 5, UTC))
                if set(outbox) <= {"delivered"} and due == 0:
                    break
                offset += 3600
                await move_clocks(offset_file, offset)
                await quiet(url, {a.owner, b.owner} - {""}, settle=10)
            sent_by = {r.name: r.sent_before_kill + await r.sent(session) for r in (a, b)}
    finally:
        await a.stop()
        await b.stop()
        await fake.stop()
        store.close()

    with psycopg.connect(url) as conn:
        queued = {r[0] for r in conn.execute("SELECT id FROM outbox").fetchall()}
    reached = Counter(
        (m["metadata"]["event_payload"]["outbox_id"], m["metadata"]["event_payload"]["part"])
        for m in fake.messages
    )
    doubled = {k: n for k, n in reached.items() if n > 1}
    print("\nreplicas:", {"raised": raised, "queued": len(queued), "parts reached Slack": len(reached),
                          "sent by": sent_by, "outbox": outbox, "due": due})  # fmt: skip
    assert raised == ESCALATIONS
    assert set(outbox) == {"delivered"} and due == 0, (outbox, due, stuck(url), logs(a, b))
    assert doubled == {}, [(m["ts"], m["channel"]) for m in fake.messages if doubled.get(
        (m["metadata"]["event_payload"]["outbox_id"], m["metadata"]["event_payload"]["part"]))]  # fmt: skip
    assert {outbox_id for outbox_id, _ in reached} == queued  # every message queued reached Slack
    assert len(queued) > ESCALATIONS  # each raise tells Sam and Alex, and reminders follow
    assert sent_by["A"] > 0 and sent_by["B"] > 0, sent_by
