"""When reminders go. The whole rhythm is the table below (the README shows the same table);
sending them is `EscalationBot.run_due` (rows, not timers).

| Reminder                       | Standard stage (working days)       | Urgent stage (hours)           |
|--------------------------------|-------------------------------------|--------------------------------|
| Due soon, to the stage         | 9am on the due day                  | 4 hours before the due time    |
| Due now, to the stage          | at the due time                     | at the due time                |
| Overdue, to the stage          | 10am each working day for 5 working | every 4 hours for 24 hours,    |
|                                | days, then every 5 working days     | then as a standard stage       |
| Overdue, to the next level up  | once, with the first overdue chase  | the same                       |
| Partnership admins             | 9am each working day: what newly    | the same                       |
|                                | went overdue (nothing if nothing);  |                                |
|                                | Mondays: everything still overdue   |                                |
| Quiet hours: nothing is sent   | outside 08:00-18:00, working days   | from 21:00 to 07:00            |

A reminder that falls in quiet hours waits for the next allowed time; several that wait go
together, in the order they fell due. After an outage only the next chase goes, not a burst.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from bot.calendar import LONDON, WorkingCalendar
from bot.escalation import Escalation
from bot.timeline import MilestoneTime
from bot.timescale import TimescaleKind

AHEAD = "ahead"
DUE = "due"
OVERDUE = "overdue"
MILESTONE = "milestone"
MILESTONE_CHECK = "milestone_check"  # at its due time: recorded as missed if not done
ACTION = "action"  # an agreed action falls due: its owner is reminded
ACTION_CHECK = "action_check"  # at its due time: not done is recorded, and the raising side told


@dataclass(frozen=True)
class Rhythm:
    """One column of the table: when a stage's reminders go, and when nothing may be sent."""

    allowed_from: time
    allowed_until: time
    working_days_only: bool
    heads_up_before: timedelta | None  # None: at HEADS_UP_AT on the due day
    first_day_every: timedelta | None  # overdue chases in the first 24 hours (urgent)


STANDARD = Rhythm(time(8, 0), time(18, 0), True, None, None)
URGENT = Rhythm(time(7, 0), time(21, 0), False, timedelta(hours=4), timedelta(hours=4))
HEADS_UP_AT = time(9, 0)
CHASE_AT = time(10, 0)
DAILY_CHASES = 5  # working days of daily chasing before it goes weekly
WEEKLY_EVERY = 5  # working days between weekly chases
DIGEST_AT = time(9, 0)

Planned = tuple[int, str, datetime, dict[str, Any]]


def is_hourly(esc: Escalation) -> bool:
    """True when the current stage runs on an hours timescale (urgent), not working days."""
    stage = esc.policy.stage(esc.stage.number)
    return stage.timescale(urgent=esc.urgent).kind is TimescaleKind.HOURS


def rhythm(hourly: bool) -> Rhythm:
    return URGENT if hourly else STANDARD


def next_allowed(at: datetime, calendar: WorkingCalendar, *, hourly: bool) -> datetime:
    """`at`, or the first moment after it outside quiet hours."""
    r = rhythm(hourly)
    local = at.astimezone(LONDON)
    day = local.date()
    for _ in range(60):  # bank holidays and weekends end within days; the bound is a guard
        usable = calendar.is_working_day(day) or not r.working_days_only
        opens = datetime.combine(day, r.allowed_from, tzinfo=LONDON)
        closes = datetime.combine(day, r.allowed_until, tzinfo=LONDON)
        if usable and local < closes:
            return max(local, opens)
        day += timedelta(days=1)
        local = datetime.combine(day, time(0, 0), tzinfo=LONDON)
    raise ValueError("no allowed time within 60 days")


def heads_up_time(
    start: datetime, due: datetime, calendar: WorkingCalendar, *, hourly: bool
) -> datetime | None:
    """When the "due soon" reminder goes, if that falls between the start and the due time."""
    before = rhythm(hourly).heads_up_before
    if before is not None:
        ahead = due - before
    else:
        ahead = datetime.combine(due.astimezone(LONDON).date(), HEADS_UP_AT, tzinfo=LONDON)
    ahead = next_allowed(ahead, calendar, hourly=hourly)
    return ahead if start < ahead < due else None


def chase_times(due: datetime, calendar: WorkingCalendar, *, hourly: bool) -> Iterator[datetime]:
    """Every overdue chase of a stage due at `due`, in order, each in allowed hours."""
    last: datetime | None = None
    every = rhythm(hourly).first_day_every
    if every is not None:
        k = 1
        while every * k <= timedelta(hours=24):
            at = next_allowed(due + every * k, calendar, hourly=hourly)
            if last is None or at > last:
                last = at
                yield at
            k += 1
    day = due.astimezone(LONDON).date()
    count = 0
    while True:
        step = 1 if count < DAILY_CHASES else WEEKLY_EVERY
        for _ in range(step):
            day = calendar.next_working_day(day)
        count += 1
        at = datetime.combine(day, CHASE_AT, tzinfo=LONDON)
        if last is None or at > last:
            last = at
            yield at


def overdue_time(due: datetime, calendar: WorkingCalendar, repeat: int, *, hourly: bool) -> datetime:
    """When the `repeat`-th overdue chase goes (0 is the first)."""
    for n, at in enumerate(chase_times(due, calendar, hourly=hourly)):
        if n == repeat:
            return at
    raise AssertionError("chase_times never ends")


def next_overdue(
    due: datetime, calendar: WorkingCalendar, repeat: int, now: datetime, *, hourly: bool
) -> tuple[int, datetime]:
    """The next chase strictly after `now`: after an outage the missed ones are not all sent."""
    for n, at in enumerate(chase_times(due, calendar, hourly=hourly)):
        if n >= repeat and at > now:
            return n, at
    raise AssertionError("chase_times never ends")


def plan_stage(esc: Escalation, calendar: WorkingCalendar, *, now: datetime | None = None) -> list[Planned]:
    """The reminders for the escalation's current stage, from its due time and milestones.

    With `now` (a due time changed mid-stage), anything whose time has passed is left out, so a
    reminder already sent is not sent again.
    """
    stage = esc.stage
    hourly = is_hourly(esc)
    planned: list[Planned] = []
    if stage.due is not None:
        data = {"due": stage.due.isoformat(), "hourly": hourly}
        ahead = heads_up_time(stage.started_at, stage.due, calendar, hourly=hourly)
        if ahead:
            planned.append((stage.number, AHEAD, ahead, data))
        planned.append((stage.number, DUE, next_allowed(stage.due, calendar, hourly=hourly), data))
        planned.append(
            (
                stage.number,
                OVERDUE,
                overdue_time(stage.due, calendar, 0, hourly=hourly),
                {**data, "repeat": 0},
            )
        )
    for milestone in stage.milestones:
        at = heads_up_time(stage.started_at, milestone.due, calendar, hourly=hourly)
        if at:
            planned.append((stage.number, MILESTONE, at, _milestone_data(milestone)))
        planned.append((stage.number, MILESTONE_CHECK, milestone.due, _milestone_data(milestone)))
    if now is not None:
        planned = [p for p in planned if p[2] > now or p[1] in {DUE, OVERDUE}]
    return planned


def plan_milestone(
    stage_number: int, milestone: MilestoneTime, now: datetime, calendar: WorkingCalendar
) -> list[Planned]:
    """A reminder for a milestone counted from an event (e.g. confirm the outcome in writing)."""
    at = heads_up_time(now, milestone.due, calendar, hourly=False) or next_allowed(
        milestone.due, calendar, hourly=False
    )
    data = _milestone_data(milestone)
    return [(stage_number, MILESTONE, at, data), (stage_number, MILESTONE_CHECK, milestone.due, data)]


def _milestone_data(milestone: MilestoneTime) -> dict[str, Any]:
    return {"milestone": milestone.id, "name": milestone.name, "due": milestone.due.isoformat()}
