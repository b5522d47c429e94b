"""Planning reminders from deadlines. Sending them is `EscalationBot.run_due` (rows, not timers).

Two rhythms: a stage measured in working days is reminded at 9am on the due day and chased at
10am on each following working day; a stage measured in hours (urgent) is reminded 4 hours
before and chased every 2 hours after.
"""

from __future__ import annotations

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

# An overdue stage is chased every working day; from this repeat on the partnership admins are told.
OVERDUE_TO_PARTNERSHIP_FROM = 2
URGENT_HEADS_UP = timedelta(hours=4)
URGENT_OVERDUE_EVERY = timedelta(hours=2)
HEADS_UP_AT = time(9, 0)
CHASE_AT = time(10, 0)

Planned = tuple[int, str, datetime, dict[str, Any]]


def is_hourly(esc: Escalation) -> bool:
    """True when the current stage runs on an hours timescale (urgent), not working days."""
    stage = esc.policy.stage(esc.stage.number)
    return stage.timescale(urgent=esc.urgent).kind is TimescaleKind.HOURS


def heads_up_time(start: datetime, due: datetime, *, hourly: bool) -> datetime | None:
    """When the "due soon" reminder goes, if that falls between the start and the due time."""
    if hourly:
        ahead = due - URGENT_HEADS_UP
    else:
        ahead = datetime.combine(due.astimezone(LONDON).date(), HEADS_UP_AT, tzinfo=LONDON)
    return ahead if start < ahead < due else None


def overdue_time(due: datetime, calendar: WorkingCalendar, repeat: int, *, hourly: bool) -> datetime:
    """When the `repeat`-th overdue notice goes (0 is the first)."""
    if hourly:
        return due + URGENT_OVERDUE_EVERY * (repeat + 1)
    day = due.astimezone(LONDON).date()
    for _ in range(repeat + 1):
        day = calendar.next_working_day(day)
    return datetime.combine(day, CHASE_AT, tzinfo=LONDON)


def next_overdue(
    due: datetime, calendar: WorkingCalendar, repeat: int, now: datetime, *, hourly: bool
) -> tuple[int, datetime]:
    """The next chase strictly after `now`: after an outage the missed ones are not all sent."""
    at = overdue_time(due, calendar, repeat, hourly=hourly)
    while at <= now:
        repeat += 1
        at = overdue_time(due, calendar, repeat, hourly=hourly)
    return repeat, at


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
        ahead = heads_up_time(stage.started_at, stage.due, hourly=hourly)
        if ahead:
            planned.append((stage.number, AHEAD, ahead, data))
        planned.append((stage.number, DUE, stage.due, data))
        planned.append(
            (
                stage.number,
                OVERDUE,
                overdue_time(stage.due, calendar, 0, hourly=hourly),
                {**data, "repeat": 0},
            )
        )
    for milestone in stage.milestones:
        at = heads_up_time(stage.started_at, milestone.due, hourly=hourly)
        if at:
            planned.append((stage.number, MILESTONE, at, _milestone_data(milestone)))
    if now is not None:
        planned = [p for p in planned if p[2] > now or p[1] in {DUE, OVERDUE}]
    return planned


def plan_milestone(stage_number: int, milestone: MilestoneTime, now: datetime) -> list[Planned]:
    """A reminder for a milestone counted from an event (e.g. confirm the outcome in writing)."""
    at = heads_up_time(now, milestone.due, hourly=False) or milestone.due
    return [(stage_number, MILESTONE, at, _milestone_data(milestone))]


def _milestone_data(milestone: MilestoneTime) -> dict[str, Any]:
    return {"milestone": milestone.id, "name": milestone.name, "due": milestone.due.isoformat()}
