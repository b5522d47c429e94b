"""Telling the partnership's admins, in chat, when messages to one platform keep failing, once,
and once more when they get through again.

A platform is failing from its first failure that a retry might mend (an outage, a refused
token, a rate limit) until its next success; a refusal about one person or message (no account,
a message too long) says nothing about the platform. The state is kept in the database, so a
restart neither repeats the alert nor forgets to say the platform recovered. Time is the bot's
clock.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.messages import Message, MessageKind
from bot.outbox import DeliveryFailed
from bot.people import Person
from bot.storage import PlatformTrouble
from bot.wording import when

if TYPE_CHECKING:
    from adapters.runtime import Delivery

log = logging.getLogger("escalation_bot.health")
FAILING_FOR = timedelta(minutes=15)
WHAT = {"slack": "Messages to Slack", "teams": "Messages to Microsoft Teams", "email": "Emails"}
WHAT_TO_CHECK = {
    "slack": (
        "that the Slack app is still installed in each workspace and its token (SLACK_BOT_TOKEN, or "
        "each workspace's install) has not been revoked, that the server can reach slack.com, and "
        "status.slack.com"
    ),
    "teams": (
        "that the bot's client secret (MicrosoftAppPassword) has not expired in its Azure app "
        "registration, that the server can reach login.microsoftonline.com and the Bot Framework, "
        "and the Microsoft 365 service health page"
    ),
    "email": "that the mail server in SMTP_URL is up and still accepts the bot's login",
}


class PlatformHealth:
    """Watches each send's outcome per platform, and queues the admins' alerts. Its methods read
    and write the database: `serve` calls them in its storage thread."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.troubles = delivery.bot.store.platform_troubles()

    @property
    def _bot(self):
        return self.delivery.bot

    def observe(self, platform: str, error: Exception | None) -> None:
        """One attempt to send through `platform` ended: None for delivered."""
        store, now = self._bot.store, self._bot.clock.now()
        trouble = self.troubles.get(platform)
        if error is None:
            if trouble is not None:
                del self.troubles[platform]
                store.clear_platform_trouble(platform)
                if trouble.alerted_at is not None:
                    self._recovered(trouble, now)
            return
        if isinstance(error, DeliveryFailed) and error.permanent:
            return  # about this person or message, not the platform
        reason = str(error) if isinstance(error, DeliveryFailed) else f"unexpected {type(error).__name__}"
        if trouble is None:
            trouble = PlatformTrouble(platform, failing_since=now, last_error=reason)
        elif trouble.last_error == reason:
            return
        self.troubles[platform] = replace(trouble, last_error=reason)
        store.save_platform_trouble(self.troubles[platform])

    def check(self) -> None:
        """Alert the admins about each platform failing for FAILING_FOR and not yet alerted."""
        now = self._bot.clock.now()
        for trouble in list(self.troubles.values()):
            if trouble.alerted_at is None and now - trouble.failing_since >= FAILING_FOR:
                self._alert(trouble, now)

    def next_check(self) -> datetime | None:
        """When the next alert could fall due, for a loop that sleeps until then."""
        due = [t.failing_since + FAILING_FOR for t in self.troubles.values() if t.alerted_at is None]
        return min(due, default=None)

    def waiting(self, platform: str) -> int:
        """How many queued messages would go through `platform`."""
        return sum(1 for m in self._bot.store.outbox_waiting() if self.delivery.platform_for(m) == platform)

    def _alert(self, trouble: PlatformTrouble, now: datetime) -> None:
        store = self._bot.store
        platform = trouble.platform
        waiting = self.waiting(platform)
        what = WHAT.get(platform, f"Messages to {platform}")
        check = WHAT_TO_CHECK.get(platform, "the server's log")
        text = (
            f"{what} have not been getting through since {when(trouble.failing_since)}. "
            f"{_count(waiting)} waiting and will go as soon as it works again; nothing in the record "
            f"is lost. Last error: {trouble.last_error}. Please check {check}. You'll be told here "
            "when it recovers."
        )
        self._tell_admins(text, avoid=platform, now=now)
        self.troubles[platform] = replace(trouble, alerted_at=now)
        store.save_platform_trouble(self.troubles[platform])
        log.warning("%s failing since %s, %d waiting: admins told", platform, trouble.failing_since, waiting)

    def _recovered(self, trouble: PlatformTrouble, now: datetime) -> None:
        what = WHAT.get(trouble.platform, f"Messages to {trouble.platform}")
        since, until = when(trouble.failing_since), when(now)
        text = (
            f"{what} are getting through again (failing from {since} to {until}). Those that were "
            "waiting are being sent now."
        )
        self._tell_admins(text, avoid=None, now=now)
        log.warning("%s recovered: admins told", trouble.platform)

    def _tell_admins(self, text: str, *, avoid: str | None, now: datetime) -> None:
        admins = [a for a in self._bot.store.admins() if a.active]
        data: dict[str, object] = {"undelivered_report": True, "platform_alert": True}
        if avoid:
            data["avoid"] = avoid  # the failing platform is the last way to tell them
        messages = [Message(to=a.id, text=text, kind=MessageKind.NOTICE, data=data) for a in admins]
        self._bot.store.enqueue(messages, now=now)
        if not admins:
            log.warning("no partnership admin in the directory to tell")


def another_route(delivery: Delivery, person: Person, avoid: str) -> str | None:
    """A platform other than `avoid` that can reach `person`, if any."""
    for platform, reachable in (
        ("slack", person.slack_id),
        ("teams", person.teams_id),
        ("email", person.email),
    ):
        if platform != avoid and reachable and platform in delivery.senders:
            return platform
    return None


def _count(waiting: int) -> str:
    return f"{waiting} message{'s are' if waiting != 1 else ' is'}"
