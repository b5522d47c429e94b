"""Time as the policies count it: working days to a 17:00 end of day, or elapsed hours."""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import date, datetime

from bot.calendar import END_OF_WORKING_DAY, LONDON, WorkingCalendar

WORKING_DAYS = "working days"
HOURS = "hours"


def working_days_taken(start: datetime, end: datetime, calendar: WorkingCalendar) -> int:
    """The fewest working days N such that "within N working days" of `start` was met by `end`:
    0 for the same working day, so a stage that took N met a timescale of N."""
    first = calendar.start_day(start)
    local = end.astimezone(LONDON)
    day = local.date()
    # The first working day whose 17:00 is at or after `end`.
    if not calendar.is_working_day(day) or local.time() > END_OF_WORKING_DAY:
        day = calendar.next_working_day(day)
    if day <= first:
        return 0
    return _index(calendar).between(first, day)


class _WorkingDayIndex:
    """Working days between two dates in constant time: weekdays by arithmetic, less the bank
    holidays between them (a sorted list), so a stage left open for years costs no more."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self.years: set[int] = set()
        self.holidays: list[int] = []

    def between(self, first: date, last: date) -> int:
        """Working days after `first` up to and including `last`."""
        missing = [y for y in range(first.year, last.year + 1) if y not in self.years]
        if missing:
            for year in missing:
                self.calendar.is_bank_holiday(date(year, 1, 1))  # the calendar fills in that year
                self.years.add(year)
            self.holidays = sorted(d.toordinal() for d in self.calendar.bank_holidays if d.weekday() < 5)
        return self._through(last) - self._through(first)

    def _through(self, day: date) -> int:
        ordinal = day.toordinal()  # ordinal 1 is a Monday
        weekdays = ordinal // 7 * 5 + min(ordinal % 7, 5)
        return weekdays - bisect_right(self.holidays, ordinal)


_INDEXES: dict[int, _WorkingDayIndex] = {}


def _index(calendar: WorkingCalendar) -> _WorkingDayIndex:
    index = _INDEXES.get(id(calendar))
    if index is None or index.calendar is not calendar:
        index = _INDEXES[id(calendar)] = _WorkingDayIndex(calendar)
    return index


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
