"""Acknowledgements before the work they lead to. Under a burst of requests, every Slack and
Teams acknowledgement goes out before the work any of them causes (opening a form, answering a
list, delivering what a sweep queued): such work waits while a request is still waiting for its
acknowledgement, for at most PATIENCE, so a steady stream of requests cannot hold it up for long.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

PATIENCE = 0.5  # seconds: the longest the work waits for other requests' acknowledgements
# Seconds without a request that end a burst, for background work (the sweep): between two of a
# burst's requests nobody may be waiting, and a batch started then meets the next one.
LULL = 0.05


class AcknowledgementsFirst:
    """Counts the requests still to be acknowledged; `turn()` waits until there are none."""

    def __init__(self) -> None:
        self._waiting = 0
        self._none_waiting = asyncio.Event()
        self._none_waiting.set()
        self._last_arrival = float("-inf")  # the event loop's time

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around a request, until its acknowledgement is sent."""
        self._last_arrival = asyncio.get_running_loop().time()
        self._waiting += 1
        self._none_waiting.clear()
        try:
            yield
        finally:
            self._waiting -= 1
            if not self._waiting:
                self._none_waiting.set()

    def answering_now(self) -> bool:
        """True while a request waits for its acknowledgement. Safe to ask from another thread
        (the storage thread's sweep asks between reminders, and stops its batch)."""
        return self._waiting > 0

    async def turn(self) -> bool:
        """Before work that follows an acknowledgement: let the others' go first (briefly). True
        when it stopped waiting at PATIENCE with requests still unanswered."""
        if not self._waiting:
            return False
        # A deadline, not wait_for: no task made per waiter, while the burst is still answered.
        try:
            async with asyncio.timeout(PATIENCE):
                await self._none_waiting.wait()
        except TimeoutError:
            return True
        return False

    async def lull(self) -> bool:
        """Before background work: wait for a burst to end, until no request has come for LULL
        seconds, and for at most PATIENCE. True when it stopped waiting at PATIENCE."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + PATIENCE
        while True:
            if await self.turn():
                return True
            now = loop.time()
            if now - self._last_arrival >= LULL:
                return False
            if now >= give_up:
                return True
            await asyncio.sleep(min(self._last_arrival + LULL, give_up) - now)
