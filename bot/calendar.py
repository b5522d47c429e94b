"""The working-day calendar every policy timescale is measured on (see PRODUCT.md).

Europe/London time; working days are Monday to Friday except England bank holidays; the working day
ends at 17:00. Hour timescales are elapsed time on aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from bot.timescale import Timescale, TimescaleKind

LONDON = ZoneInfo("Europe/London")
END_OF_WORKING_DAY = time(17, 0)


def _england_bank_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="ENG")


@dataclass
class WorkingCalendar:
    """Working days, the 17:00 end of day, and due times for timescales."""

    bank_holidays: holidays.HolidayBase = field(default_factory=_england_bank_holidays)
    # Each day asked about, answered: `holidays` works out a year's dates on every lookup's way
    # in, and one form's timeline preview asks about some thirty days.
    _answers: dict[date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def is_bank_holiday(self, day: date) -> bool:
        """True when `day` is an England bank holiday (including substitute days)."""
        answer = self._answers.get(day)
        if answer is None:
            answer = self._answers[day] = day in self.bank_holidays
        return answer

    def is_working_day(self, day: date) -> bool:
        """True for Monday to Friday that is not an England bank holiday."""
        return day.weekday() < 5 and not self.is_bank_holiday(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        candidate = day + timedelta(days=1)
        while not self.is_working_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def start_day(self, when: datetime) -> date:
        """The working day a timescale starting at `when` counts from.

        That is `when`'s London date if it is a working day and `when` is before 17:00, otherwise
        the next working day.
        """
        local = _aware(when).astimezone(LONDON)
        day = local.date()
        if self.is_working_day(day) and local.time() < END_OF_WORKING_DAY:
            return day
        return self.next_working_day(day)

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`-th working day after `day` (`day` itself when count is 0)."""
        if count < 0:
            raise ValueError("count must not be negative")
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def end_of_day(self, day: date) -> datetime:
        """17:00 Europe/London on `day`, as an aware datetime."""
        return datetime.combine(day, END_OF_WORKING_DAY, tzinfo=LONDON)

    def working_days_after(self, when: datetime, count: int) -> datetime:
        """Due time of "within `count` working days" of `when` (0 means the same working day)."""
        return self.end_of_day(self.add_working_days(self.start_day(when), count))

    def hours_after(self, when: datetime, hours: int) -> datetime:
        """Elapsed hours across weekends, holidays and clock changes, shown in London time."""
        return (_aware(when).astimezone(UTC) + timedelta(hours=hours)).astimezone(LONDON)

    def due(self, when: datetime, timescale: Timescale) -> datetime | None:
        """When a timescale that starts at `when` falls due, or None if the policy gives none."""
        if timescale.kind is TimescaleKind.WORKING_DAYS:
            return self.working_days_after(when, timescale.amount)
        if timescale.kind is TimescaleKind.HOURS:
            return self.hours_after(when, timescale.amount)
        return None


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("the calendar works on aware datetimes only")
    return when
