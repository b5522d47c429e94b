"""A running bot (real HTTP on 127.0.0.1) wired to a local fake of the Slack Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import aiohttp
from aiohttp import web

from adapters.server import Services, build_services, serve_for_tests
from bot.clock import ManualClock
from bot.settings import Settings
from fakes.slack_api import FakeSlack, slack_user
from fakes.slack_requests import SECRET, post
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

    async def send(self, request: tuple[str, str], **kwargs) -> tuple[int, str]:
        body, content_type = request
        return await post(self.session, self.url, body, content_type, **kwargs)

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

    async def tick(self) -> None:
        """What the background loop does when it wakes: send due reminders, deliver the outbox."""
        await self.services.loop.step()


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
