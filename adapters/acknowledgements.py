"""Acknowledgements before the work they lead to. Under a burst of requests, every Slack and
Teams acknowledgement goes out before the work any of them causes (opening a form, answering a
list, delivering what a sweep queued): such work waits while a request is still waiting for its
acknowledgement, and until QUIET has passed since the last one went, for at most PATIENCE in
all, so a steady stream of requests cannot hold it up for long.

The quiet spell is what makes a burst one: its requests reach the server a few at a time, and
without it the work the first ones caused (a form costs several times its acknowledgement) would
run in each gap, ahead of the acknowledgements still on their way in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

PATIENCE = 0.5  # seconds: the longest the work waits for other requests' acknowledgements
QUIET = 0.02  # seconds since the last acknowledgement before the work goes on


class AcknowledgementsFirst:
    """Counts the requests still to be acknowledged; `turn()` waits until there are none, and
    none has just been answered."""

    def __init__(self, quiet: float = QUIET, patience: float = PATIENCE) -> None:
        self.quiet = quiet
        self.patience = patience
        self._waiting = 0
        self._none_waiting = asyncio.Event()
        self._none_waiting.set()
        self._last_answered = float("-inf")

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around a request, until its acknowledgement is sent."""
        self._waiting += 1
        self._none_waiting.clear()
        try:
            yield
        finally:
            self._waiting -= 1
            self._last_answered = asyncio.get_running_loop().time()
            if not self._waiting:
                self._none_waiting.set()

    def answering_now(self) -> bool:
        """True while a request waits for its acknowledgement. Safe to ask from another thread
        (the storage thread's sweep asks between reminders, and stops its batch)."""
        return self._waiting > 0

    async def turn(self) -> None:
        """Before work that follows an acknowledgement: let the others' go first (briefly)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience
        while (now := loop.time()) < deadline:
            if self._waiting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._none_waiting.wait(), deadline - now)
            elif now - self._last_answered < self.quiet:
                await asyncio.sleep(min(self._last_answered + self.quiet, deadline) - now)
            else:
                return
