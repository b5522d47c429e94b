"""Delivering queued messages: a failure delays a message, it never loses it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.messages import Message
from bot.storage import OutboxItem, Storage

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=1)


class DeliveryFailed(Exception):
    """A platform refused or failed a send. `retry_after` (seconds) comes from e.g. a 429."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Wait before the next try: the platform's Retry-After if given, else doubling from 5s."""
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 1))
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    retrying: int
    failed: list[Message]


def _settle(
    store: Storage,
    item: OutboxItem,
    now: datetime,
    error: DeliveryFailed | None,
    failed: list[Message],
) -> bool:
    if error is None:
        store.outbox_delivered(item.id, now=now)
        return True
    if error.permanent or item.attempts >= MAX_ATTEMPTS:
        store.outbox_failed(item.id, error=str(error))
        failed.append(item.message)
    else:
        store.outbox_retry(item.id, at=now + backoff(item.attempts, error.retry_after), error=str(error))
    return False


def deliver(store: Storage, now: datetime, send: Callable[[Message], None]) -> DeliveryReport:
    """Send every queued message that is ready, synchronously (console)."""
    delivered, retrying, failed = 0, 0, []
    for item in store.claim_outbox(now):
        try:
            send(item.message)
            error = None
        except DeliveryFailed as exc:
            error = exc
        if _settle(store, item, now, error, failed):
            delivered += 1
        elif item.message not in failed:
            retrying += 1
    return DeliveryReport(delivered, retrying, failed)


async def deliver_async(
    store: Storage, now: datetime, send: Callable[[Message], Awaitable[None]]
) -> DeliveryReport:
    """The same for adapters whose platform clients are async (Slack, Teams)."""
    delivered, retrying, failed = 0, 0, []
    for item in store.claim_outbox(now):
        try:
            await send(item.message)
            error = None
        except DeliveryFailed as exc:
            error = exc
        if _settle(store, item, now, error, failed):
            delivered += 1
        elif item.message not in failed:
            retrying += 1
    return DeliveryReport(delivered, retrying, failed)
