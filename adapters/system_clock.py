"""The real clock, used when the bot runs for real; the core itself never reads the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """Wall-clock time as an aware UTC datetime."""

    def now(self) -> datetime:
        return datetime.now(UTC)
