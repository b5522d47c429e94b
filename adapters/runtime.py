"""The running bot's background work: deliver the outbox, send due reminders, sleep until next.
The database work (the sweep, claiming and settling each message) runs in the storage thread;
only the sending happens on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from adapters.acknowledgements import AcknowledgementsFirst
from adapters.inbox import Inbox
from adapters.platform_health import PlatformHealth, another_route
from adapters.recipient import RECIPIENT
from adapters.storage_thread import StorageThread
from bot.core import EscalationBot
from bot.errors import Refused
from bot.messages import Message
from bot.outbox import DeliveryFailed, deliver_async
from bot.people import Person

log = logging.getLogger("escalation_bot.runtime")
IDLE_CHECK = timedelta(seconds=60)
# Reminders swept in one go: small, so requests arriving meanwhile wait for one batch at most.
SWEEP_BATCH = 20
EMAIL = "email"

Sender = Callable[[Message], Awaitable[None]]


class Delivery:
    """Routes each queued message to the platform its recipient uses, and reports final failures."""

    def __init__(
        self, bot: EscalationBot, storage_thread: StorageThread, acks: AcknowledgementsFirst | None = None
    ) -> None:
        self.bot = bot
        self.storage_thread = storage_thread
        self.acks = acks or AcknowledgementsFirst()
        self.senders: dict[str, Sender] = {}
        self._lock = asyncio.Lock()
        # Told of every attempt through a platform (its name, and the error or None): the
        # admins' alerts when one keeps failing, and the metrics.
        self.health = PlatformHealth(self)
        self.watchers: list[Callable[[str, Exception | None], None]] = [self.health.observe]

    def add_platform(self, name: str, sender: Sender) -> None:
        self.senders[name] = sender

    def platform_for(self, message: Message) -> str | None:
        """The platform a message goes through (reads the directory: in the storage thread)."""
        return self.route(message, self.bot.person(message.to))

    def route(self, message: Message, person: Person | None) -> str | None:
        """The platform a message to `person` goes through."""
        if person is None:
            return None
        if message.data.get("via") == EMAIL:  # e.g. a fresh page link: only to the directory address
            return EMAIL if EMAIL in self.senders else None
        if person.slack_id and "slack" in self.senders:
            return "slack"
        if person.teams_id and "teams" in self.senders:
            return "teams"
        linked = bool(person.slack_id or person.teams_id)
        chat = [name for name in self.senders if name != EMAIL]
        by_email = bool(person.email) and EMAIL in self.senders
        if linked and by_email:
            return EMAIL  # linked only to platforms this server does not serve
        if not linked and chat:
            # Not linked to any platform yet: a chat platform may find them by their email (Slack
            # does); one that cannot says so (unreachable) and email takes over in `send`.
            return chat[0]
        return EMAIL if by_email else next(iter(self.senders), None)

    async def send(self, message: Message) -> None:
        await self.acks.turn()
        person = await self.storage_thread.run(self.bot.person, message.to)
        RECIPIENT.set(person)
        platform = self.route(message, person)
        if platform is None:
            raise DeliveryFailed("no chat platform is configured for this person", permanent=True)
        avoid = message.data.get("avoid")  # an alert about a failing platform goes another way
        if platform == avoid and person is not None:
            platform = another_route(self, person, avoid) or platform
        if message.data.get("report") and platform != "teams":
            # Slack uploads it and email attaches it; Teams offers it with its file consent card.
            message = await self.storage_thread.run(_with_report, self.bot, message)
        try:
            await self._attempt(platform, message)
        except DeliveryFailed as exc:
            # Reach them anyway: a platform with no way to reach this person hands over to email.
            by_email = EMAIL in self.senders and bool(person and person.email)
            if not (exc.unreachable and platform != EMAIL and by_email):
                raise
            await self._attempt(EMAIL, message)

    async def _attempt(self, platform: str, message: Message) -> None:
        try:
            await self.senders[platform](message)
        except Exception as exc:
            await self.storage_thread.run(self._tell_watchers, platform, exc)
            raise
        if platform in self.health.troubles:
            await self.storage_thread.run(self._tell_watchers, platform, None)  # clears the trouble
        else:
            self._tell_watchers(platform, None)  # counters only: no database work, no hop to it

    def _tell_watchers(self, platform: str, error: Exception | None) -> None:
        for watch in self.watchers:
            watch(platform, error)

    async def flush(self) -> int:
        """Deliver everything ready now; returns how many went. Safe to call from many places."""
        async with self._lock:
            run = self.storage_thread.run
            await run(self.health.check)  # an alert queued now goes out in this flush
            delivered = 0
            for _ in range(10):  # reports of failures are themselves messages: a bounded loop
                report = await deliver_async(self.bot.store, self.bot.clock.now, self.send, run=run)
                delivered += report.delivered
                for message in report.failed:
                    log.warning("message to %s finally failed after retries", message.to)
                    await run(self.bot.report_undelivered, message)
                if not report.failed:
                    break
            return delivered


class BackgroundLoop:
    """Sends reminders as they fall due and retries the outbox; sleeps until the next due time."""

    def __init__(self, bot: EscalationBot, delivery: Delivery, idle_check: timedelta = IDLE_CHECK) -> None:
        self.bot = bot
        self.delivery = delivery
        self.idle_check = idle_check
        self.storage_thread = delivery.storage_thread
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.inboxes: list[Inbox] = []

    def poke(self) -> None:
        """Something new was queued: deliver it now rather than at the next wake-up."""
        self._wake.set()

    async def step(self) -> None:
        # What people sent first (events kept before a stop, or that failed), then what is due.
        for inbox in self.inboxes:
            await inbox.drain()
        await self.sweep()
        await self.delivery.flush()

    async def sweep(self) -> int:
        """Send the reminders due now (the core's `run_due`), a small batch at a time in the
        storage thread: a request's database work waits for one batch, not the whole sweep, and
        a burst of requests has the CPU before the sweep: each batch waits for a lull in it, and a
        batch under way when one arrives stops at the next reminder. Returns how many messages
        it queued."""
        run, now = self.storage_thread.run, self.bot.clock.now()
        sweep = self.bot.sweeper()  # each person read once in this sweep
        await run(sweep.plan_due, now)
        queued = 0
        acks = self.delivery.acks
        while True:
            # A burst of requests is answered between batches, and a batch yields to one that
            # starts before its first reminder; past the acknowledgements' patience the sweep goes
            # on by at least one reminder a batch, so a steady stream cannot stop it.
            waited_out = await acks.lull()
            batch = await run(
                sweep.send_due_batch, now, SWEEP_BATCH, acks.answering_now, at_least_one=waited_out
            )
            if batch is None:
                return queued
            queued += len(batch)

    async def seconds_until_next(self) -> float:
        return await self.storage_thread.run(self._seconds_until_next)

    def _seconds_until_next(self) -> float:
        now = self.bot.clock.now()
        health = self.delivery.health.next_check()  # an alert falls due with nothing else to do
        candidates = [t for t in (self.bot.next_wakeup(), self.bot.store.next_outbox_attempt(), health) if t]
        wake = min([*candidates, now + self.idle_check])
        return max((wake - now).total_seconds(), 0.05)

    async def run(self) -> None:
        # The flag, not only the cancel, ends the loop: on Python 3.11 asyncio.wait_for can swallow
        # a cancel that arrives as its inner task finishes, and the loop would run on after stop().
        while not self._stopping:
            try:
                await self.step()
            except Exception:  # the loop must outlive one bad step; the error is logged without content
                log.exception("background step failed; will retry")
            if self._stopping:
                break
            self._wake.clear()
            try:
                timeout = await self.seconds_until_next()
            except Exception:
                log.exception("could not read when next to wake; will check again")
                timeout = IDLE_CHECK.total_seconds()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="escalation-bot-background")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for inbox in self.inboxes:
            await inbox.stop()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _with_report(bot: EscalationBot, message: Message) -> Message:
    from adapters.report.chat import attach_report

    try:
        return attach_report(bot, message)
    except Refused:
        raise DeliveryFailed("no longer an admin of the report's policy", permanent=True) from None
