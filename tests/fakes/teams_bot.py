"""A running bot (real HTTP on 127.0.0.1) for Teams, wired to a local fake Bot Connector."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from adapters.server import Services, build_services, serve_for_tests
from bot.clock import ManualClock
from bot.settings import Settings
from fakes.bot_connector import FakeConnector
from fakes.teams_activities import TENANT
from support import PEOPLE, london

TEAMS_USERS = ("alex", "sam", "jo", "priya", "dee", "eve", "chris", "kim")


@dataclass
class TeamsBotHandle:
    url: str
    connector: FakeConnector
    services: Services
    clock: ManualClock
    session: aiohttp.ClientSession

    async def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None, *, settle: bool = True
    ) -> tuple[int, str]:
        """POST an activity; with `settle`, wait until its turn (run from the inbox after the
        answer) is over too."""
        async with self.session.post(
            self.url,
            data=json.dumps(activity),
            headers={"Content-Type": "application/json", **(headers or {})},
        ) as response:
            answer = response.status, await response.text()
        if settle:
            await self.settle()
        return answer

    async def settle(self) -> None:
        """Handle everything waiting in the inboxes."""
        for inbox in self.services.loop.inboxes:
            await inbox.drain()

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` in the server's storage thread, in turn with its own database
        work: how a test changes the database while the server runs."""
        return await self.services.storage_thread.run(fn, *args, **kwargs)

    async def tick(self) -> None:
        await self.services.loop.step()


@asynccontextmanager
async def running_teams_bot(tmp_path, **settings_overrides) -> AsyncIterator[TeamsBotHandle]:
    connector = FakeConnector()
    await connector.start()
    options = {"teams_allow_unauthenticated": True, "teams_trusted_tenants": (TENANT,), **settings_overrides}
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}", **options)
    clock = ManualClock(london(2026, 12, 1, 10, 0))
    services = build_services(settings, clock=clock)
    services.bot.store.upsert_people(
        [replace(p, teams_id=f"aad-{p.id}" if p.id in TEAMS_USERS else None) for p in PEOPLE]
    )
    runner, port = await serve_for_tests(services)
    async with aiohttp.ClientSession() as session:
        yield TeamsBotHandle(f"http://127.0.0.1:{port}/api/messages", connector, services, clock, session)
    await runner.cleanup()
    await connector.stop()
