"""A running bot (real HTTP on 127.0.0.1) wired to a local fake of the Slack Web API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web

from adapters.server import Services, build_services, serve_for_tests
from bot.clock import ManualClock
from bot.settings import Settings
from fakes.slack_api import FakeSlack, slack_user
from fakes.slack_requests import SECRET, post, slash
from support import PEOPLE, london

SLACK_IDS = {
    "alex": "UALEX",
    "sam": "USAM",
    "jo": "UJO",
    "priya": "UPRIYA",
    "dee": "UDEE",
    "eve": "UEVE",
    "chris": "UCHRIS",
    "kim": "UKIM",
}


@dataclass
class SlackBot:
    url: str
    fake: FakeSlack
    services: Services
    clock: ManualClock
    session: aiohttp.ClientSession
    runner: web.AppRunner | None = None

    async def send(self, request: tuple[str, str], *, settle: bool = True, **kwargs) -> tuple[int, str]:
        """POST a signed request; with `settle`, wait until the work it set off after its answer
        (the listener's, and what it left in the inbox: a note, a raise form) is done too."""
        body, content_type = request
        if not settle:
            return await post(self.session, self.url, body, content_type, **kwargs)
        with _listeners_started() as listeners:
            answer = await post(self.session, self.url, body, content_type, **kwargs)
        if listeners:
            await asyncio.wait(listeners, timeout=30)
        await self.settle()
        return answer

    async def ask(self, user_id: str, text: str, *, parts: int = 1, team: str = "T1") -> list[dict]:
        """`/escalate <text>` as `user_id`: what they are shown, in order (the acknowledgement's own
        answer, if it has one, then what follows through the response URL), once `parts` came."""
        before = len(self.fake.responses())
        body, content_type = slash(user_id, text, response_url=self.fake.response_url)
        status, body = await self.send((body.replace("team_id=T1", f"team_id={team}"), content_type))
        assert status == 200, body
        shown = [json.loads(body)] if body else []
        if len(shown) < parts:
            await self.fake.wait_for("response_url", count=before + parts - len(shown))
        return shown + self.fake.responses()[before:]

    async def settle(self) -> None:
        """Handle everything waiting in the inboxes."""
        for inbox in self.services.loop.inboxes:
            await inbox.drain()

    @property
    def root(self) -> str:
        """The server's address, without a path."""
        return self.url.removesuffix("/slack/events")

    async def restart(self) -> None:
        """Stop the server (closing its database) and start it again on the same database."""
        if self.runner is not None:
            await self.runner.cleanup()
        self.services = build_services(self.services.settings, clock=self.clock)
        self.runner, port = await serve_for_tests(self.services)
        self.url = f"http://127.0.0.1:{port}/slack/events"

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` in the server's storage thread, in turn with its own database
        work: how a test changes the database while the server runs."""
        return await self.services.storage_thread.run(fn, *args, **kwargs)

    async def tick(self) -> None:
        """What the background loop does when it wakes: send due reminders, deliver the outbox."""
        await self.services.loop.step()


@contextmanager
def _listeners_started() -> Iterator[list[asyncio.Task]]:
    """The bolt listeners started meanwhile: each runs on after its acknowledgement (bolt's
    `process_before_response=False`), in a task of its own, which this collects."""
    loop = asyncio.get_running_loop()
    started: list[asyncio.Task] = []
    previous = loop.get_task_factory()

    def factory(loop, coro, **kwargs):
        task = previous(loop, coro, **kwargs) if previous else asyncio.Task(coro, loop=loop, **kwargs)
        if "run_ack_function" in getattr(coro, "__qualname__", ""):
            started.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        yield started
    finally:
        loop.set_task_factory(previous)


@asynccontextmanager
async def running_slack_bot(tmp_path, **settings_given: object) -> AsyncIterator[SlackBot]:
    """Start the fake Slack Web API and the bot's server; yield the handle; stop both.
    `settings_given` changes the settings (e.g. slack_bot_token=None, slack_client_id=...)."""
    users = {uid: slack_user(uid, p.name) for p in PEOPLE if (uid := SLACK_IDS.get(p.id))}
    users["UNEW"] = slack_user("UNEW", "Nia Newcomer", "nia@example.org")
    fake = FakeSlack(users)
    base = await fake.start()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=base,
    )
    settings = replace(settings, **settings_given)  # type: ignore[arg-type]
    clock = ManualClock(london(2026, 12, 1, 10, 0))
    services = build_services(settings, clock=clock)
    fake.clock = lambda: clock.now().timestamp()  # Slack's clock agrees with the bot's
    services.bot.store.upsert_people([replace(p, slack_id=SLACK_IDS.get(p.id)) for p in PEOPLE])
    runner, port = await serve_for_tests(services)
    async with aiohttp.ClientSession() as session:
        slack = SlackBot(f"http://127.0.0.1:{port}/slack/events", fake, services, clock, session, runner)
        yield slack
    if slack.runner is not None:
        await slack.runner.cleanup()
    await fake.stop()
