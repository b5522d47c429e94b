"""Time as a dependency: the core asks a Clock, so tests and the demo can move time on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current time as an aware datetime."""

    def now(self) -> datetime: ...


@dataclass
class ManualClock:
    """A clock that only moves when told to: for tests and the console demo."""

    current: datetime

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock on by `delta` and return the new time."""
        self.current = self.current + delta
        return self.current

    def set(self, when: datetime) -> None:
        """Jump the clock to `when` (aware)."""
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self.current = when
