"""Planning reminders from deadlines. Sending them is `EscalationBot.run_due` (rows, not timers)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from bot.calendar import END_OF_WORKING_DAY, LONDON, WorkingCalendar
from bot.escalation import Escalation
from bot.timeline import MilestoneTime

AHEAD = "ahead"
DUE = "due"
OVERDUE = "overdue"
MILESTONE = "milestone"

# An overdue stage is chased every working day; from this repeat on the partnership admins are told.
OVERDUE_TO_PARTNERSHIP_FROM = 2
URGENT_HEADS_UP = timedelta(hours=4)
URGENT_OVERDUE_AFTER = timedelta(hours=2)

Planned = tuple[int, str, datetime, dict[str, Any]]


def _is_end_of_day(moment: datetime) -> bool:
    return moment.astimezone(LONDON).timetz().replace(tzinfo=None) == END_OF_WORKING_DAY


def heads_up_time(start: datetime, due: datetime) -> datetime | None:
    """When the "due soon" reminder goes: 9am on the due day, or 4 hours before an hour deadline."""
    ahead = (
        datetime.combine(due.astimezone(LONDON).date(), time(9, 0), tzinfo=LONDON)
        if _is_end_of_day(due)
        else due - URGENT_HEADS_UP
    )
    return ahead if start < ahead < due else None


def overdue_time(due: datetime, calendar: WorkingCalendar, repeat: int) -> datetime:
    """When the `repeat`-th overdue notice goes: 10am on following working days, or hourly-ish."""
    if not _is_end_of_day(due):
        return due + URGENT_OVERDUE_AFTER * (repeat + 1)
    day = due.astimezone(LONDON).date()
    for _ in range(repeat + 1):
        day = calendar.next_working_day(day)
    return datetime.combine(day, time(10, 0), tzinfo=LONDON)


def plan_stage(esc: Escalation, calendar: WorkingCalendar) -> list[Planned]:
    """The reminders for the escalation's current stage, from its due time and milestones."""
    stage = esc.stage
    planned: list[Planned] = []
    if stage.due is not None:
        ahead = heads_up_time(stage.started_at, stage.due)
        if ahead:
            planned.append((stage.number, AHEAD, ahead, {"due": stage.due.isoformat()}))
        planned.append((stage.number, DUE, stage.due, {"due": stage.due.isoformat()}))
        planned.append(
            (
                stage.number,
                OVERDUE,
                overdue_time(stage.due, calendar, 0),
                {"due": stage.due.isoformat(), "repeat": 0},
            )
        )
    for milestone in stage.milestones:
        at = heads_up_time(stage.started_at, milestone.due)
        if at:
            planned.append((stage.number, MILESTONE, at, _milestone_data(milestone)))
    return planned


def plan_milestone(stage_number: int, milestone: MilestoneTime, now: datetime) -> list[Planned]:
    """A reminder for a milestone counted from an event (e.g. confirm the outcome in writing)."""
    at = heads_up_time(now, milestone.due) or milestone.due
    return [(stage_number, MILESTONE, at, _milestone_data(milestone))]


def _milestone_data(milestone: MilestoneTime) -> dict[str, Any]:
    return {"milestone": milestone.id, "name": milestone.name, "due": milestone.due.isoformat()}
