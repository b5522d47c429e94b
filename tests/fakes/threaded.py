"""A running bot (and its fake platform) on an event loop in a background thread, so a synchronous
test (a Hypothesis property, say) can drive it over real HTTP one call at a time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Threaded(Generic[T]):
    """Enter an async context manager on a loop of its own; `call` runs coroutines on that loop."""

    def __init__(self, manager: AbstractAsyncContextManager[T]) -> None:
        self.manager = manager
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> T:
        self.thread.start()
        self.handle = self.call(self.manager.__aenter__())
        return self.handle

    def __exit__(self, *exc: Any) -> None:
        try:
            self.call(self.manager.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)
