"""A running bot (real HTTP on 127.0.0.1) that sends email to a local SMTP server, optionally with
Slack against its local fake too; the secure page is served by the same server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from adapters.server import Services, build_services, serve_for_tests
from bot.clock import ManualClock
from bot.people import Person
from bot.settings import Settings
from fakes.slack_api import FakeSlack, slack_user
from fakes.slack_requests import SECRET
from fakes.smtp_server import FakeMailServer
from support import PEOPLE, london

PAGE_SECRET = "test-page-secret-0123456789-abcdefghijklmnop"
MAIL_FROM = "Escalations <escalations@partnership.example.org>"
# Sam (the other professional) and Priya (his manager) have no chat account: email only. Alex and
# Jo are in Slack.
SLACK_IDS = {"alex": "UALEX", "jo": "UJO", "dee": "UDEE"}
EMAILS = {
    p.id: f"{p.id}@{'nhs.example.org' if p.agency == 'Whittington Health' else 'example.org'}" for p in PEOPLE
}
LINK = re.compile(r"http://127\.0\.0\.1:\d+/p/[A-Za-z0-9_.-]+")


@dataclass
class EmailBot:
    base: str
    mail: FakeMailServer
    services: Services
    clock: ManualClock
    session: aiohttp.ClientSession
    slack: FakeSlack | None

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` in the server's storage thread, in turn with its own database
        work: how a test changes the database while the server runs."""
        return await self.services.storage_thread.run(fn, *args, **kwargs)

    async def tick(self) -> None:
        await self.services.loop.step()

    def link_for(self, person_id: str) -> str:
        """The page link in the latest email to this person."""
        (mail, *_) = reversed(self.mail.to(EMAILS[person_id]))
        return LINK.findall(mail.text)[0]


def people(with_slack: bool) -> list[Person]:
    return [
        replace(p, email=EMAILS[p.id], slack_id=SLACK_IDS.get(p.id) if with_slack else None) for p in PEOPLE
    ]


@asynccontextmanager
async def running_email_bot(tmp_path, *, with_slack: bool = True) -> AsyncIterator[EmailBot]:
    """The SMTP server, Slack's fake (if asked), and the bot; yields a handle; stops them all."""
    async with AsyncExitStack() as stack:
        mail = FakeMailServer()
        mail.start()
        stack.callback(mail.stop)
        fake = None
        slack = {}
        if with_slack:
            fake = FakeSlack({uid: slack_user(uid, pid.title()) for pid, uid in SLACK_IDS.items()})
            base = await fake.start()
            stack.push_async_callback(fake.stop)
            slack = {"slack_bot_token": "xoxb-test", "slack_signing_secret": SECRET, "slack_api_url": base}
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            smtp_url=mail.url,
            mail_from=MAIL_FROM,
            public_url="http://127.0.0.1:1",  # replaced below once the port is known
            page_secret=PAGE_SECRET,
            **slack,
        )
        clock = ManualClock(london(2026, 12, 1, 10, 0))
        services = build_services(settings, clock=clock)
        if fake is not None:
            fake.clock = lambda: clock.now().timestamp()
        services.bot.store.upsert_people(people(with_slack))
        runner, port = await serve_for_tests(services)
        stack.push_async_callback(runner.cleanup)
        base_url = f"http://127.0.0.1:{port}"
        services.links.public_url = base_url
        # The page sets its CSRF cookie for 127.0.0.1; aiohttp keeps cookies for IP hosts only when told.
        jar = aiohttp.CookieJar(unsafe=True)
        session = await stack.enter_async_context(aiohttp.ClientSession(cookie_jar=jar))
        yield EmailBot(base_url, mail, services, clock, session, fake)


async def sam_raises_alex_proposes(mailbot: EmailBot) -> None:
    """Sam (email only) raises a difference with Alex (Slack), and Alex proposes it is resolved;
    the email asking Sam to agree is delivered."""
    from datetime import timedelta

    from bot.commands import RaiseEscalation, Resolve

    bot = mailbot.services.bot
    await mailbot.run(
        bot.handle,
        RaiseEscalation(
            actor="sam",
            policy_id="camden",
            case_reference="CIN-20931",
            counterpart="alex",
            category="threshold",
            issue="Children's social care plans to close the case.",
            risk="Baby of 8 months; missed appointments.",
            outcome_wanted="Keep the case open until the review.",
        ),
    )
    await mailbot.run(
        bot.handle,
        Resolve(actor="alex", escalation_id="E-0001", outcome="The case stays open until the review"),
    )
    mailbot.clock.advance(timedelta(seconds=1))
    await mailbot.tick()
