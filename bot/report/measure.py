"""Time as the policies count it: working days to a 17:00 end of day, or elapsed hours."""

from __future__ import annotations

import math
from datetime import datetime

from bot.calendar import WorkingCalendar

WORKING_DAYS = "working days"
HOURS = "hours"


def working_days_taken(start: datetime, end: datetime, calendar: WorkingCalendar) -> int:
    """The fewest working days N such that "within N working days" of `start` was met by `end`:
    0 for the same working day, so a stage that took N met a timescale of N."""
    day = calendar.start_day(start)
    taken = 0
    while end > calendar.end_of_day(day):
        day = calendar.next_working_day(day)
        taken += 1
    return taken


def hours_taken(start: datetime, end: datetime) -> int:
    """Elapsed whole hours, rounded up (an urgent timescale counts every hour)."""
    return max(0, math.ceil((end - start).total_seconds() / 3600))


def working_days_late(due: datetime, end: datetime, calendar: WorkingCalendar) -> int:
    """How many working days past `due` something ran: 1 for any time on the first working day
    after it (0 when it was not late at all)."""
    if end <= due:
        return 0
    return working_days_taken(due, end, calendar) + 1


def median(values: list[int]) -> float | None:
    """The middle value (the mean of the middle two for an even count); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
