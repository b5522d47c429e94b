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


class AcknowledgementsFirst:
    """Counts the requests still to be acknowledged; `turn()` waits until there are none."""

    def __init__(self) -> None:
        self._waiting = 0
        self._none_waiting = asyncio.Event()
        self._none_waiting.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around a request, until its acknowledgement is sent."""
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

    async def turn(self) -> None:
        """Before work that follows an acknowledgement: let the others' go first (briefly)."""
        if self._waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._none_waiting.wait(), PATIENCE)
