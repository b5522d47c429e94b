"""Events a platform has been told we received, kept in the database until they are handled.

Slack answers an event's HTTP request (or Socket Mode envelope) before its listener runs, and does
not send it again once answered. So an event is stored before the answer and handled from here,
in the order it arrived; a stop in between leaves it waiting for the next start, not lost. It is
marked seen (and what it said deleted) only once handled, so a platform's retry of it is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.acknowledgements import AcknowledgementsFirst
from adapters.storage_thread import StorageThread
from bot.clock import Clock
from bot.storage import Storage

log = logging.getLogger("escalation_bot.inbox")
# Tries before an event the bot cannot handle is set aside, so it holds up the rest no longer.
GIVE_UP_AFTER = 5

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Inbox:
    """One platform's inbox: `keep` before answering, then it drains in the background."""

    def __init__(
        self,
        store: Storage,
        clock: Clock,
        platform: str,
        handle: Handler,
        storage_thread: StorageThread,
        acks: AcknowledgementsFirst | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.storage_thread = storage_thread
        self.acks = acks or AcknowledgementsFirst()
        self.platform = platform
        self.handle = handle
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None

    async def keep(self, event_id: str, body: dict[str, Any]) -> bool:
        """Store an event durably; False if it is a retry of one already kept or handled. The one
        write a platform waits for: it is what makes the acknowledgement a promise."""
        kept = await self.storage_thread.run(self.write, event_id, body)
        if kept:
            self.poke()
        return kept

    def write(self, event_id: str, body: dict[str, Any]) -> bool:
        """`keep`'s write, for work already in the storage thread (then `poke` from the loop)."""
        return self.store.inbox_keep(self.platform, event_id, json.dumps(body), now=self.clock.now())

    def poke(self) -> None:
        """Handle what is waiting, soon, without holding up the caller."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.drain(), name=f"inbox-{self.platform}")

    async def drain(self) -> int:
        """Handle every waiting event in arrival order; returns how many were handled. An event
        that fails stays for the next drain (the background loop's, or the next event's)."""
        handled = 0
        run = self.storage_thread.run
        async with self._lock:
            while items := await run(self.store.inbox_pending, self.platform):
                for item in items:
                    await self.acks.turn()
                    try:
                        await self.handle(json.loads(item.body))
                    except Exception as exc:  # one bad event must not stop the inbox; no content logged
                        if await run(self.store.inbox_failed_attempt, item, give_up_after=GIVE_UP_AFTER):
                            log.error("set aside a %s event after %d tries", self.platform, GIVE_UP_AFTER)
                            continue
                        log.warning("%s event not handled yet (%s)", self.platform, type(exc).__name__)
                        return handled
                    await run(self.store.inbox_handled, item, now=self.clock.now())
                    handled += 1
        return handled

    async def stop(self) -> None:
        """Stop draining. An event not yet marked handled is handled at the next start; handling
        is idempotent (a note is recorded once per platform message)."""
        if self._task and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
