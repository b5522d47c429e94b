"""The one thread that does the server's database work, so the event loop never waits on it.

Everything `serve` reads or writes (the Slack and Teams handlers, the secure page, delivery, the
reminder sweep) goes through `StorageThread.run`: one worker thread using the one connection in
turn, so no two pieces of work ever interleave on it. The event loop only awaits the result: a
sweep of a thousand reminders holds up other database work, never an acknowledgement that needs
none, nor any HTTP the loop is doing meanwhile.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
# While the storage thread computes (a sweep builds its messages in Python), the event loop waits
# this long at most for the interpreter lock when a request arrives; Python's default is 5 ms.
LOOP_WAITS_AT_MOST = 0.001  # seconds


class StorageThread:
    """A single worker thread for database work; `await storage_thread.run(fn, *args)`."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        sys.setswitchinterval(min(sys.getswitchinterval(), LOOP_WAITS_AT_MOST))

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in the storage thread, after whatever was queued before it.
        Context variables (the Slack workspace being served, say) go with it."""
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._executor.shutdown(wait=True)
