"""Stage and milestone due times: the one place policy timescales become datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.calendar import LONDON, WorkingCalendar
from bot.policy import Anchor, Milestone, Policy, Stage


@dataclass(frozen=True)
class MilestoneTime:
    id: str
    name: str
    due: datetime


@dataclass(frozen=True)
class StageTime:
    number: int
    title: str
    starts: datetime | None
    due: datetime | None
    milestones: tuple[MilestoneTime, ...]


def stage_due(
    stage: Stage,
    *,
    stage_start: datetime,
    escalation_start: datetime,
    urgent: bool,
    calendar: WorkingCalendar,
) -> datetime | None:
    """When `stage` falls due under its policy timescale, or None when the policy gives none."""
    anchor = escalation_start if stage.anchor is Anchor.ESCALATION_START else stage_start
    due = calendar.due(anchor, stage.timescale(urgent=urgent))
    if due is not None and due < stage_start:
        # An anchor earlier than the stage (Enfield's overall 5 days) can already have passed:
        # the stage is then due at once rather than in the past.
        return stage_start.astimezone(LONDON)
    return due


def milestone_due(milestone: Milestone, anchor_time: datetime, calendar: WorkingCalendar) -> datetime:
    """When a milestone falls due, counted from the time of its anchor event."""
    due = calendar.due(anchor_time, milestone.within)
    assert due is not None, "milestones always have a timescale (schema)"
    return due


def stage_milestones(
    stage: Stage, *, stage_start: datetime, calendar: WorkingCalendar
) -> tuple[MilestoneTime, ...]:
    """The milestones counted from the stage start (others wait for their event)."""
    return tuple(
        MilestoneTime(m.id, m.name, milestone_due(m, stage_start, calendar))
        for m in stage.milestones
        if m.after is Anchor.STAGE_START
    )


def plan_timeline(
    policy: Policy, start: datetime, *, urgent: bool, calendar: WorkingCalendar
) -> list[StageTime]:
    """Each stage's start and due time if every stage runs its full timescale.

    Stage N+1 starts when stage N falls due; after a stage with no timescale, later starts are unknown.
    """
    if start.tzinfo is None:
        raise ValueError("the timeline needs an aware start time")
    start = start.astimezone(LONDON)
    times: list[StageTime] = []
    stage_start: datetime | None = start
    for stage in policy.stages:
        if stage_start is None:
            times.append(StageTime(stage.number, stage.title, None, None, ()))
            continue
        due = stage_due(
            stage, stage_start=stage_start, escalation_start=start, urgent=urgent, calendar=calendar
        )
        milestones = stage_milestones(stage, stage_start=stage_start, calendar=calendar)
        times.append(StageTime(stage.number, stage.title, stage_start, due, milestones))
        stage_start = due
    return times
