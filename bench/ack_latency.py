"""`/escalate` acknowledged while a sweep of 1,000 due reminders runs, beside a bare bolt app.

Three processes on 127.0.0.1. This one serves (a) a bare slack-bolt AsyncApp whose `/escalate`
listener only acknowledges, and (b) our `serve` app, on a temporary SQLite database holding the
test directory and ESCALATIONS differences raised through the core. The other two play Slack:
one the local fake Web API (tests/fakes/slack_api.py) that both apps call, the other the client
that sends CONCURRENT signed `/escalate` slash commands at once and times each acknowledgement,
as Slack would. They are apart, as Slack's are: the forms ours opens after acknowledging must not
delay, on the client's own event loop, its reading of the acknowledgements still to come.

Each round fires at the bare app, then at ours. For ours, a round starts from a fresh copy of the
database, fires once with nothing else to do (for comparison), then moves the clock past the first
stage's due time (1,000 reminders due), starts the sweep (the background loop's own: `run_due` in
small batches in the storage thread) and fires while it runs; the background loop itself is
stopped, so that sweep is the only one. After acknowledging,
ours opens the raise form for each request (the bare app does nothing more); delivering what the
sweep queued is left out.

Run alone: `python -m bench.ack_latency` (or as part of `make bench`).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.calendar import LONDON

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 30  # fewer, and one slow round on a shared machine moves the 95th percentile
CONCURRENT = 50
ESCALATIONS = 500  # two reminders each fall due a week and seven hours later: 1,000 in all
START = datetime(2026, 12, 1, 10, tzinfo=LONDON)
DUE_AFTER = timedelta(days=7, hours=7)
TARGET = 1.2  # ours / bare, at the median and at the 95th percentile


@dataclass
class Timings:
    name: str
    acks: list[float] = field(default_factory=list)  # ms

    def centile(self, q: float) -> float:
        ordered = sorted(self.acks)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    @property
    def p50(self) -> float:
        return statistics.median(self.acks)

    @property
    def p95(self) -> float:
        return self.centile(0.95)

    @property
    def max(self) -> float:
        return max(self.acks)


# -- the other process: Slack ------------------------------------------------------------------


async def _stdin_lines() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def _play_slack_api() -> None:
    """The fake Web API, answering one JSON command a line on stdin: how many forms were opened."""
    from fakes.slack_api import FakeSlack, slack_user
    from fakes.slack_bot import SLACK_IDS
    from support import PEOPLE

    fake = FakeSlack({uid: slack_user(uid, p.name) for p in PEOPLE if (uid := SLACK_IDS.get(p.id))})
    print(json.dumps({"api": await fake.start()}), flush=True)
    reader = await _stdin_lines()
    while line := await reader.readline():
        command = json.loads(line)
        await fake.wait_for("views.open", count=command["opened"], timeout=120)
        print(json.dumps({"opened": command["opened"]}), flush=True)
    await fake.stop()


async def _play_slack_client() -> None:
    """The client that fires signed slash commands, one JSON command a line on stdin."""
    import aiohttp

    from fakes.slack_requests import post, slash

    print(json.dumps({"ready": True}), flush=True)
    reader = await _stdin_lines()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENT * 2)) as session:

        async def one(url: str, trigger: str) -> float:
            body, content_type = slash("UALEX", trigger_id=trigger)
            started = time.perf_counter()
            status, _ = await post(session, url, body, content_type)
            assert status == 200, status
            return (time.perf_counter() - started) * 1000

        while line := await reader.readline():
            command = json.loads(line)
            jobs = (one(command["fire"], f"{command['name']}-{n}") for n in range(command["count"]))
            print(json.dumps({"acks": list(await asyncio.gather(*jobs))}), flush=True)


# -- this process: the two apps ----------------------------------------------------------------


class Player:
    """One of the processes playing Slack, as this one talks to it: a JSON line each way."""

    def __init__(self, process: asyncio.subprocess.Process, hello: dict[str, Any]) -> None:
        self.process = process
        self.hello = hello

    @classmethod
    async def start(cls, role: str) -> Player:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.ack_latency",
            role,
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        return cls(process, json.loads(await process.stdout.readline()))

    async def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()
        return json.loads(await self.process.stdout.readline())

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


class Slack:
    """Slack, played by two processes: its Web API and the client sending slash commands."""

    def __init__(self, api: Player, client: Player) -> None:
        self.api_player = api
        self.client = client
        self.api = api.hello["api"]

    @classmethod
    async def start(cls) -> Slack:
        return cls(await Player.start("--play-slack-api"), await Player.start("--play-slack-client"))

    async def fire(self, url: str, name: str, count: int = CONCURRENT) -> list[float]:
        """`count` signed `/escalate` commands at once; each one's time to its answer, in ms."""
        return (await self.client.ask({"fire": url, "name": name, "count": count}))["acks"]

    async def opened(self, count: int) -> None:
        """Wait until views.open has been called `count` times in all."""
        await self.api_player.ask({"opened": count})

    async def stop(self) -> None:
        await self.client.stop()
        await self.api_player.stop()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/slack/events"


async def _bare_app(api: str) -> tuple[web.AppRunner, str]:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from fakes.slack_requests import SECRET

    app = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token="xoxb-bench", base_url=api))

    @app.command("/escalate")
    async def only_ack(ack) -> None:
        await ack()

    return await _serve(app.web_app(path="/slack/events"))


def _template(folder: Path) -> Path:
    """ESCALATIONS differences raised through the core at START: each round's database is a copy."""
    from dataclasses import replace

    from bot.clock import ManualClock
    from bot.commands import RaiseEscalation
    from bot.core import EscalationBot
    from bot.policy import PolicyLibrary
    from bot.storage import Storage
    from fakes.slack_bot import SLACK_IDS
    from support import PEOPLE

    path = folder / "template.db"
    store = Storage.open(f"sqlite:///{path}")
    store.upsert_people([replace(p, slack_id=SLACK_IDS.get(p.id)) for p in PEOPLE])
    bot = EscalationBot(store=store, policies=PolicyLibrary.load(), clock=ManualClock(START))
    people = ("alex", "sam", "jo", "priya", "chris", "kim", "eve")
    for i in range(ESCALATIONS):
        bot.handle(
            RaiseEscalation(
                actor=people[i % len(people)],
                policy_id="camden",
                case_reference=f"CIN-{i}",
                counterpart=people[(i + 1) % len(people)],
                category="threshold",
                issue="Issue " * 40,
                risk="Risk " * 30,
                outcome_wanted="Outcome " * 10,
            )
        )
    store.close()
    return path


def _due(bot: Any) -> int:
    now = bot.clock.now()
    return sum(1 for r in bot.store.pending_reminders() if r.due_at <= now)


async def _ours_round(
    slack: Slack, database: Path, round_: int, opened: int
) -> tuple[list[float], list[float], str]:
    """One round against a fresh `serve` app: a burst with nothing else to do, then a burst while
    it sweeps the template's reminders. Returns both bursts' times and how the sweep went."""
    from adapters.server import build_services, settle_interpreter, web_app
    from bot.clock import ManualClock
    from bot.settings import Settings
    from fakes.slack_requests import SECRET

    settings = Settings(
        database_url=f"sqlite:///{database}",
        slack_bot_token="xoxb-bench",
        slack_signing_secret=SECRET,
        slack_api_url=slack.api,
    )
    clock = ManualClock(START)
    services = build_services(settings, clock=clock)
    settle_interpreter()  # as `serve` does
    runner, url = await _serve(web_app(services))
    try:
        await services.loop.stop()  # the sweep measured is the only one
        # Warmed up as the bare app was: bolt's auth.test, and a connection for each request.
        await slack.fire(url, f"warm-{round_}")
        await slack.opened(opened + CONCURRENT)
        idle = await slack.fire(url, f"idle-{round_}")
        await slack.opened(opened + 2 * CONCURRENT)
        clock.advance(DUE_AFTER)
        due = await services.storage_thread.run(_due, services.bot)
        started = time.perf_counter()
        sweep = asyncio.create_task(services.loop.sweep())
        await asyncio.sleep(0.05)  # under way in the storage thread
        acks = await slack.fire(url, f"ours-{round_}")
        running = not sweep.done()
        await sweep
        took = time.perf_counter() - started
        await slack.opened(opened + 3 * CONCURRENT)
    finally:
        await runner.cleanup()
    state = "still running" if running else "OVER"
    return idle, acks, f"{due:,} reminders due, swept in {took:.1f} s, {state} at the last acknowledgement"


async def measure(folder: Path) -> tuple[Timings, Timings, Timings, list[str]]:
    """Rounds for the bare app and for ours in turn, so both meet the machine in the same state:
    the bare app's times, ours with nothing else to do, ours during a sweep, and the sweeps."""
    template = _template(folder)
    slack = await Slack.start()
    bare, idle, ours = Timings("bare bolt app"), Timings("ours, no sweep"), Timings("ours, in a sweep")
    sweeps: list[str] = []
    try:
        bare_runner, bare_url = await _bare_app(slack.api)
        await slack.fire(bare_url, "warm-bare")  # bolt's auth.test, and the connections
        for round_ in range(ROUNDS):
            bare.acks += await slack.fire(bare_url, f"bare-{round_}")
            database = folder / f"round-{round_}.db"
            shutil.copy(template, database)
            calm, busy, sweep = await _ours_round(slack, database, round_, opened=3 * CONCURRENT * round_)
            idle.acks += calm
            ours.acks += busy
            sweeps.append(sweep)
        await bare_runner.cleanup()
    finally:
        await slack.stop()
    return bare, idle, ours, sweeps


def report(bare: Timings, idle: Timings, ours: Timings, sweeps: list[str]) -> str:
    rows = [
        f"/escalate acknowledged, {CONCURRENT} signed requests at once, {ROUNDS} rounds "
        f"({len(bare.acks)} requests each):",
        f"{'':24}{'p50':>10}{'p95':>10}{'max':>10}",
    ]
    for t in (bare, idle, ours):
        rows.append(f"{t.name:24}{t.p50:>8.1f}ms{t.p95:>8.1f}ms{t.max:>8.1f}ms")
    for t in (idle, ours):
        ratios = (t.p50 / bare.p50, t.p95 / bare.p95, t.max / bare.max)
        rows.append(f"{t.name.replace('ours', 'ours / bare'):24}" + "".join(f"{r:>10.2f}" for r in ratios))
    rows += [f"sweep {n + 1}: {s}" for n, s in enumerate(sweeps)]
    return "\n".join(rows)


def run(folder: Path) -> dict[str, float]:
    """Ours / bare at the median and the 95th percentile (printing the full figures)."""
    sys.path.insert(0, str(REPO / "tests"))  # the fake Slack and the test directory
    bare, idle, ours, sweeps = asyncio.run(measure(folder))
    print(report(bare, idle, ours, sweeps))
    return {
        "/escalate ack p50, ours in a sweep / bare bolt (ratio)": ours.p50 / bare.p50,
        "/escalate ack p95, ours in a sweep / bare bolt (ratio)": ours.p95 / bare.p95,
    }


if __name__ == "__main__":
    players = {"--play-slack-api": _play_slack_api, "--play-slack-client": _play_slack_client}
    if sys.argv[1:2] and sys.argv[1] in players:
        sys.path.insert(0, str(REPO / "tests"))
        asyncio.run(players[sys.argv[1]]())
        sys.exit(0)
    results = run(Path(tempfile.mkdtemp(prefix="escalation-bench-")))
    sys.exit(0 if all(value <= TARGET for value in results.values()) else 1)
