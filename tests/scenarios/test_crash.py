"""`escalation-bot serve` killed with SIGKILL at random moments around raises, notes and deliveries,
its clock moved forward between runs with libfaketime (so leases lapse and reminders fall due).

Slack is played by the local fake: an event it was not answered for is sent again (as Slack
retries), a form not answered is submitted again (as a person would). At the end nothing
acknowledged may be missing from the record, and no message may have reached Slack twice.
`make test` runs a short schedule; `make chaos` the long one (CRASH_RESTARTS=100).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from fakes.slack_api import FakeSlack, slack_user
from fakes.slack_requests import SECRET, event, fill, post, reply, slash, view_submission
from support import REPO, cli_process

RESTARTS = int(os.environ.get("CRASH_RESTARTS", "6"))
SEED = int(os.environ.get("CRASH_SEED", "8"))

DIRECTORY = """id,name,agency,role,manager_id,email,slack_id
alex,Alex Morgan,Camden Children's Services,Social Worker,jo,alex@example.org,UALEX
jo,Jo Bennett,Camden Children's Services,Team Manager,,jo@example.org,UJO
sam,Sam Patel,Whittington Health,Health Visitor,priya,sam@example.org,USAM
priya,Priya Nair,Whittington Health,Health Visiting Team Lead,,priya@example.org,UPRIYA
"""
FORM = {
    "risk_now": "no",
    "counterpart": "dir:sam",
    "category": "threshold",
    "issue": "Health visiting plans to close the case.",
    "risk": "Baby of 8 months; missed appointments.",
    "outcome_wanted": "Keep health visiting open until the review.",
}


def faketime_env() -> dict[str, str]:
    """What preloads libfaketime into a child process (from the `libfaketime` package)."""
    libfaketime = pytest.importorskip("libfaketime")
    folder = Path(libfaketime.__file__).parent / "vendor/libfaketime/src"
    return {"LD_PRELOAD": str(folder / "libfaketime.so.1"), "DONT_FAKE_MONOTONIC": "1"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Pending:
    """A request the bot has not answered yet: sent again on the next run until it is."""

    kind: str  # "raise" or "note"
    key: str  # the case reference, or the note's text
    body: str
    content_type: str
    tries: int = 0


@dataclass
class World:
    tmp: Path
    fake: FakeSlack
    port: int
    offset: float = 0.0  # how far the bot's (and Slack's) clock is ahead of the real one, seconds
    acknowledged: dict[str, set[str]] = field(default_factory=lambda: {"raise": set(), "note": set()})
    pending: list[Pending] = field(default_factory=list)
    kills_mid_request: int = 0
    made: int = 0

    def now(self) -> float:
        return time.time() + self.offset

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.tmp),
            "DATABASE_URL": f"sqlite:///{self.tmp / 'bot.db'}",
            "PORT": str(self.port),
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.fake.base_url,
        }

    async def serve(self) -> asyncio.subprocess.Process:
        env = {**self.env(), **faketime_env(), "FAKETIME": f"+{int(self.offset)}"}
        with (self.tmp / "serve.log").open("ab") as log:  # read when the test fails
            return await cli_process(env, "serve", stderr=log)

    async def send(self, session: aiohttp.ClientSession, body: str, content_type: str, **kw) -> int:
        url = f"http://127.0.0.1:{self.port}/slack/events"
        status, _ = await post(session, url, body, content_type, timestamp=int(self.now()), **kw)
        return status


async def until_up(session: aiohttp.ClientSession, port: int) -> None:
    for _ in range(300):
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise AssertionError("serve did not start")


async def health(session: aiohttp.ClientSession, port: int) -> dict:
    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
        return await response.json()


def case_threads(fake: FakeSlack) -> list[tuple[str, str]]:
    """Alex's case threads as Slack shows them: (channel, ts) of each case message."""
    return [
        (m["channel"], m["ts"])
        for m in fake.messages
        if m["channel"] == "DUALEX" and m["thread_ts"] is None and "You raised" in json.dumps(m["blocks"])
    ]


async def attempt(world: World, session: aiohttp.ClientSession, request: Pending) -> None:
    """Send one request; an answer of 200 acknowledges it, anything else leaves it pending."""
    request.tries += 1
    retry = request.tries - 1 if request.kind == "note" and request.tries > 1 else None
    try:
        status = await world.send(session, request.body, request.content_type, retry=retry)
    except (TimeoutError, aiohttp.ClientError):
        status = None
    if status == 200:
        world.acknowledged[request.kind].add(request.key)
        world.pending.remove(request)


async def new_raise(world: World, session: aiohttp.ClientSession) -> None:
    """Open the form (if the bot is up to open it) and queue its submission."""
    world.made += 1
    trigger = f"trig-{world.made}"
    try:
        if await world.send(session, *slash("UALEX", trigger_id=trigger)) != 200:
            return
        (opened,) = await world.fake.wait_for("views.open", trigger_id=trigger, timeout=2)
    except (aiohttp.ClientError, AssertionError):
        return  # never opened: nothing to submit, nothing promised
    reference = f"CIN-{world.made:05d}"
    view = {**fill(opened.args["view"], **FORM, case_reference=reference), "id": f"V-{world.made}"}
    request = Pending("raise", reference, *view_submission("UALEX", view))
    world.pending.append(request)
    await attempt(world, session, request)


async def new_note(world: World, session: aiohttp.ClientSession, rng: random.Random) -> None:
    threads = case_threads(world.fake)
    if not threads:
        return
    world.made += 1
    channel, thread = rng.choice(threads)
    text = f"Note {world.made}: phoned the health visitor."
    # From Slack's own sequence: a reply made up here once took its thread's ts (same second, same
    # counter), and was rightly ignored as the case message itself.
    ts = world.fake.new_ts()
    request = Pending("note", text, *event(reply("UALEX", channel, thread, text, ts), f"Ev-{world.made}"))
    world.pending.append(request)
    await attempt(world, session, request)


async def one_run(world: World, rng: random.Random, *, kill: bool) -> None:
    server = await world.serve()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            await until_up(session, world.port)
            work = [attempt(world, session, p) for p in list(world.pending)]
            for _ in range(rng.randint(1, 4)):
                work.append(
                    new_raise(world, session) if rng.random() < 0.4 else new_note(world, session, rng)
                )
            if not kill:
                for job in work:
                    await job
                # Whatever the kills left standing, the last run raises one difference and adds a
                # note to it, so there is always something acknowledged to look for at the end.
                await new_raise(world, session)
                await settle(world, session)
                await new_note(world, session, rng)
                await settle(world, session)
                return
            # Kill at a random moment while the requests and the deliveries they cause are in flight.
            tasks = [asyncio.create_task(job) for job in work]
            # Half the kills land in the first few milliseconds, while requests are being handled.
            await asyncio.sleep(rng.uniform(0.0, 0.03) if rng.random() < 0.5 else rng.uniform(0.03, 0.6))
            in_flight = sum(not t.done() for t in tasks)
            server.send_signal(signal.SIGKILL)
            await asyncio.gather(*tasks)
            world.kills_mid_request += bool(in_flight)
    finally:
        if server.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                server.send_signal(signal.SIGTERM if not kill else signal.SIGKILL)
        await server.wait()


async def settle(world: World, session: aiohttp.ClientSession) -> None:
    """Wait until every acknowledged request is handled and every queued message has gone."""
    world.fake.answer_delay = 0.0  # no more kills: let the backlog go at Slack's full speed
    for _ in range(2400):
        state = await health(session, world.port)
        if (
            not world.pending
            and not state["inbox"].get("pending")
            and set(state["outbox"])
            <= {
                "delivered",
                "failed",
            }
        ):
            return
        for request in list(world.pending):
            await attempt(world, session, request)
        await asyncio.sleep(0.05)
    raise AssertionError(f"did not settle: {state}, {len(world.pending)} requests unanswered")


def read_record(db: Path, now: float) -> tuple[Counter, Counter, dict[str, int], int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        notes = Counter(
            json.loads(data)["discussed"]
            for (data,) in conn.execute("SELECT data FROM events WHERE kind = 'note_added'")
        )
        raises = Counter(ref for (ref,) in conn.execute("SELECT case_reference FROM escalations"))
        outbox = dict(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
        overdue = conn.execute(
            "SELECT COUNT(*) FROM reminders WHERE status = 'pending' AND due_at <= ?",
            [time_iso(now)],
        ).fetchone()[0]
    return notes, raises, outbox, overdue


def why_lost(folder: Path, fake: FakeSlack) -> dict[str, object]:
    """What a failure shows: events not handled, what the bot told Alex, and the servers' logs."""
    with contextlib.closing(sqlite3.connect(folder / "bot.db")) as conn:
        inbox = conn.execute(
            "SELECT event_id, status, attempts FROM inbox WHERE status <> 'handled'"
        ).fetchall()
    said = [m.get("text") or "" for m in fake.messages] + [
        str(c.args.get("text")) for c in fake.called("chat.postEphemeral")
    ]
    told = [text for text in said if "not recorded" in text]
    return {"inbox": inbox, "told": told, "log": (folder / "serve.log").read_text()[-4000:]}


def time_iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


async def test_nothing_acknowledged_is_lost_and_nothing_is_sent_twice_across_kills(tmp_path):
    rng = random.Random(SEED)
    fake = FakeSlack({u: slack_user(u, n) for u, n in [("UALEX", "Alex Morgan"), ("USAM", "Sam Patel")]})
    await fake.start()
    fake.answer_delay = 0.03  # Slack posts at once; its answer is a little behind
    world = World(tmp_path, fake, free_port())
    fake.clock = world.now
    (tmp_path / "people.csv").write_text(DIRECTORY, encoding="utf-8")
    imported = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "adapters.cli", "directory", "import", str(tmp_path / "people.csv")),
        env=world.env(),
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await imported.wait() == 0
    try:
        for _ in range(RESTARTS):
            # Minutes (a lapsed lease) or days (reminders falling due) pass before each restart.
            world.offset += rng.choice([rng.uniform(150, 900), rng.uniform(3600, 3 * 86400)])
            await one_run(world, rng, kill=True)
        world.offset += 300
        await one_run(world, rng, kill=False)
        settled_at = world.now()
    finally:
        await fake.stop()

    notes, raises, outbox, overdue = read_record(tmp_path / "bot.db", settled_at - 60)
    lost_notes = world.acknowledged["note"] - set(notes)
    lost_raises = world.acknowledged["raise"] - set(raises)
    sent = Counter(
        (m["metadata"]["event_payload"]["outbox_id"], m["metadata"]["event_payload"]["part"])
        for m in fake.messages
    )
    doubled = {k: n for k, n in sent.items() if n > 1}
    figures = {
        "restarts": RESTARTS,
        "killed mid-request": world.kills_mid_request,
        "notes acknowledged": len(world.acknowledged["note"]),
        "raises acknowledged": len(world.acknowledged["raise"]),
        "messages delivered": len(sent),
        "lost": len(lost_notes) + len(lost_raises),
        "recorded twice": sum(n - 1 for n in notes.values() if n > 1)
        + sum(n - 1 for n in raises.values() if n > 1),
        "doubled": len(doubled),
        "reminders overdue": overdue,
    }
    print("\ncrash test:", json.dumps(figures))
    assert world.acknowledged["raise"] and world.acknowledged["note"], figures
    assert lost_notes == set() and lost_raises == set(), why_lost(tmp_path, fake)
    assert max(notes.values()) == 1 and max(raises.values()) == 1
    assert doubled == {}
    assert set(outbox) == {"delivered"}
    assert overdue == 0  # every reminder due by the end has gone
