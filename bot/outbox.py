"""Delivering queued messages: a failure delays a message, it never loses it.

A message is retried with backoff (the platform's Retry-After when it gives one) for up to two
days; only a refusal no retry can mend, or two days of failures, ends in `failed`, and then the
person who caused the message is told.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.messages import Message
from bot.storage import OutboxItem, Storage

log = logging.getLogger("escalation_bot.outbox")
MAX_BACKOFF = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=2)


class DeliveryFailed(Exception):
    """A platform refused or failed a send. `retry_after` (seconds) comes from e.g. a 429.
    `unreachable`: this platform has no way to reach the person at all (no account, no
    conversation), so another route (email) should be tried rather than this one again."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        unreachable: bool = False,
    ):
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent or unreachable
        self.unreachable = unreachable


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Wait before the next try: the platform's Retry-After if given, else doubling from 5s to 1h."""
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 1))
    return min(timedelta(seconds=5 * 2 ** min(max(attempts - 1, 0), 20)), MAX_BACKOFF)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: list[Message] = field(default_factory=list)


def _as_failure(exc: Exception) -> DeliveryFailed:
    if isinstance(exc, DeliveryFailed):
        return exc
    # An error nobody expected: retry it like an outage rather than let it block the queue.
    log.warning("unexpected %s while sending; will retry", type(exc).__name__)
    return DeliveryFailed(f"unexpected {type(exc).__name__}")


def _settle(
    store: Storage, item: OutboxItem, now: datetime, error: DeliveryFailed | None, report: DeliveryReport
) -> None:
    if error is None:
        store.outbox_delivered(item.id, now=now)
        report.delivered += 1
    elif error.permanent or now - item.created_at >= GIVE_UP_AFTER:
        store.outbox_failed(item.id, error=str(error))
        report.failed.append(item.message)
    else:
        store.outbox_retry(item.id, at=now + backoff(item.attempts, error.retry_after), error=str(error))
        report.retrying += 1


def _with_id(item: OutboxItem) -> Message:
    """The message as a sender gets it: carrying its outbox id, so the sender can mark it on the
    platform and record each part as it goes; `attempt` above 1 tells it an earlier try may have
    reached the platform unrecorded (a stop, a lost answer), so it looks before sending again."""
    data = {
        **item.message.data,
        "outbox_id": item.id,
        "attempt": item.attempts,
        "queued_at": item.created_at.timestamp(),
    }
    return replace(item.message, data=data)


def deliver(store: Storage, now: datetime, send: Callable[[Message], None]) -> DeliveryReport:
    """Send every queued message that is ready, synchronously (console)."""
    report = DeliveryReport()
    for item in store.claim_outbox(now):
        if not store.outbox_hold(item.id, now=now):
            continue  # its lease ran out while earlier ones went, and another server took it
        try:
            send(_with_id(item))
            error = None
        except Exception as exc:  # each message settles on its own: one failure blocks no other
            error = _as_failure(exc)
        _settle(store, item, now, error, report)
    return report


async def _inline(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


async def deliver_async(
    store: Storage,
    clock: Callable[[], datetime],
    send: Callable[[Message], Awaitable[None]],
    *,
    run: Callable[..., Awaitable[Any]] = _inline,
) -> DeliveryReport:
    """The same for adapters whose platform clients are async (Slack, Teams). `run(fn, *args)`
    does each database step: where the adapter keeps its database work off the event loop.

    The time is read afresh at each message: a batch can take minutes against a platform's rate
    limits, and a lease renewed from the batch's start would run out under a live sender."""
    report = DeliveryReport()
    done: tuple[OutboxItem, DeliveryFailed | None] | None = None
    for item in await run(store.claim_outbox, clock()):
        # One database step between two sends: the last one settled, this one held.
        held = await run(_settle_then_hold, store, done, item, clock(), report)
        done = None
        if not held:
            continue  # its lease ran out while earlier ones went, and another server took it
        try:
            await send(_with_id(item))
            error = None
        except Exception as exc:  # each message settles on its own: one failure blocks no other
            error = _as_failure(exc)
        done = (item, error)
    if done is not None:
        await run(_settle_then_hold, store, done, None, clock(), report)
    return report


def _settle_then_hold(
    store: Storage,
    done: tuple[OutboxItem, DeliveryFailed | None] | None,
    item: OutboxItem | None,
    now: datetime,
    report: DeliveryReport,
) -> bool:
    """Settle the message just sent, if any; then True if this server still holds `item`."""
    if done is not None:
        _settle(store, done[0], now, done[1], report)
    return item is None or store.outbox_hold(item.id, now)
