"""The partnership's learning report, as figures: one policy, the differences raised in a period.

Each difference is rebuilt from its own event history up to the report's "as at" time (the end of
the period, or now for a period not yet over), so a report for a past period says the same
whenever it is made. Only the escalations opened in the period, and their events, are read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.calendar import LONDON, WorkingCalendar
from bot.escalation import CLOSED, OPEN, OTHER, RAISING, RESOLVED, WITHDRAWN, Escalation
from bot.people import Person
from bot.policy import People, Policy
from bot.report.measure import (
    HOURS,
    WORKING_DAYS,
    hours_taken,
    median,
    working_days_late,
    working_days_taken,
)
from bot.storage import Storage
from bot.timescale import TimescaleKind

# Enfield: "All escalations of Level 4 or above shared with the Partnership are collated and
# monitored." A stage at that seniority level, or any policy's partnership stage, is collated.
COLLATE_FROM_LEVEL = 4
UNKNOWN_AGENCY = "Agency not known"
ACTION_TEXT = 200  # an agreed action's text in the report, at most


class ReportPeriodError(ValueError):
    """A period the report cannot cover (the end before the start); the message says so."""


@dataclass(frozen=True)
class Period:
    """Whole days in London time, both ends included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ReportPeriodError(
                f"the period ends ({self.last.isoformat()}) before it starts ({self.first.isoformat()})"
            )

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=LONDON)

    @property
    def ends(self) -> datetime:
        """The first moment after the period: midnight at the end of its last day."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=LONDON)

    def months(self) -> list[str]:
        """Each calendar month the period touches, as YYYY-MM."""
        months, day = [], self.first.replace(day=1)
        while day <= self.last:
            months.append(f"{day.year:04d}-{day.month:02d}")
            day = (day + timedelta(days=32)).replace(day=1)
        return months


@dataclass(frozen=True)
class StageRun:
    """One stage of one difference: how long it took, against its due time."""

    number: int
    unit: str  # WORKING_DAYS or HOURS, as the policy counts this stage's timescale
    taken: int
    finished: bool  # False while the stage is still running at the "as at" time
    late_working_days: int  # 0 when it was on time (or had no due time)


@dataclass(frozen=True)
class Difference:
    """One row of the report: a difference as it stood at the "as at" time. No child is named."""

    id: str
    case_reference: str | None  # None when the report leaves case references out
    opened_at: datetime
    month: str
    category: str
    urgent: bool
    immediate_risk: bool
    raising_agency: str
    other_agency: str
    status: str
    stage: int  # the stage reached (the highest, as stages only move on)
    ended_at: datetime | None
    ended_at_stage: int | None
    overdue_working_days: int  # the longest any of its stages ran past its due time
    collated: bool
    agreed_actions: tuple[str, ...]
    stages: tuple[StageRun, ...] = field(repr=False, default=())

    @property
    def overdue(self) -> bool:
        return self.overdue_working_days > 0


@dataclass(frozen=True)
class StageTimes:
    """Time spent at one stage, in the unit its timescale counts, against that timescale."""

    number: int
    title: str
    unit: str
    timescale: str
    runs: int
    finished: int
    median: float | None
    worst: int | None
    over_time: int


@dataclass(frozen=True)
class Report:
    """Everything the report says, ready for any format; an empty period has no differences."""

    policy_id: str
    partnership: str
    period: Period
    made_at: datetime
    as_at: datetime
    with_case_references: bool
    differences: tuple[Difference, ...]
    stage_titles: dict[int, str]
    collated_stages: tuple[int, ...]
    stage_times: tuple[StageTimes, ...]
    months: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.differences

    def count(self, status: str) -> int:
        return sum(1 for d in self.differences if d.status == status)

    @property
    def raised(self) -> int:
        return len(self.differences)

    @property
    def resolved(self) -> int:
        """Resolved, counting those the partnership closed with its decision at the final stage."""
        return self.count(RESOLVED) + self.count(CLOSED)

    @property
    def withdrawn(self) -> int:
        return self.count(WITHDRAWN)

    @property
    def still_open(self) -> int:
        return self.count(OPEN)

    def resolved_at_stage(self) -> dict[int, int]:
        """How many were resolved (or closed) at each stage, every stage listed."""
        counts = Counter(d.ended_at_stage for d in self.differences if d.status in (RESOLVED, CLOSED))
        return {n: counts.get(n, 0) for n in self.stage_titles}

    def reached_stage(self) -> dict[int, int]:
        """How many reached each stage (and perhaps went further)."""
        return {n: sum(1 for d in self.differences if d.stage >= n) for n in self.stage_titles}

    @property
    def overdue(self) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.overdue)

    def overdue_median(self) -> float | None:
        return median([d.overdue_working_days for d in self.overdue])

    def overdue_worst(self) -> int | None:
        return max((d.overdue_working_days for d in self.overdue), default=None)

    def by_category(self) -> list[tuple[str, int]]:
        return Counter(d.category for d in self.differences).most_common()

    def by_agencies(self) -> list[tuple[tuple[str, str], int]]:
        """(raising agency, other agency) pairs, most frequent first."""
        return Counter((d.raising_agency, d.other_agency) for d in self.differences).most_common()

    def by_urgency(self) -> dict[str, int]:
        return {
            "urgent": sum(1 for d in self.differences if d.urgent),
            "standard": sum(1 for d in self.differences if not d.urgent),
            "immediate risk at raising": sum(1 for d in self.differences if d.immediate_risk),
        }

    @property
    def collated(self) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.collated)

    def categories_by_month(self) -> dict[str, dict[str, int]]:
        """For each category, how many were raised in each month of the period."""
        table: dict[str, dict[str, int]] = {}
        for category, _ in self.by_category():
            table[category] = {m: 0 for m in self.months}
        for d in self.differences:
            table[d.category][d.month] += 1
        return table

    def actions_by_month(self) -> dict[str, list[tuple[Difference, str]]]:
        """The agreed actions of the resolutions, by the month each was resolved."""
        months: dict[str, list[tuple[Difference, str]]] = {}
        for d in self.differences:
            if d.ended_at is None or not d.agreed_actions:
                continue
            local = d.ended_at.astimezone(LONDON)
            for action in d.agreed_actions:
                months.setdefault(f"{local.year:04d}-{local.month:02d}", []).append((d, action))
        return dict(sorted(months.items()))


def build_report(
    store: Storage,
    policy: Policy,
    period: Period,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    case_references: bool = True,
) -> Report:
    """The report for `policy` over `period`, made at `now`."""
    as_at = min(period.ends, now)
    histories = store.events_of_escalations_opened(
        policy.id, opened_from=period.starts, opened_before=period.ends
    )
    people: dict[str, Person | None] = {}

    def lookup(person_id: str) -> Person | None:
        if person_id not in people:
            people[person_id] = store.person(person_id)
        return people[person_id]

    differences = []
    for events in histories.values():
        if events[0].at > as_at:
            continue  # raised after the report was made: a clock set ahead (the demo's)
        esc = Escalation.from_events(e for e in events if e.at <= as_at)
        differences.append(_difference(esc, policy, as_at, calendar, lookup, case_references))
    return Report(
        policy_id=policy.id,
        partnership=policy.name,
        period=period,
        made_at=now,
        as_at=as_at,
        with_case_references=case_references,
        differences=tuple(differences),
        stage_titles={s.number: s.title for s in policy.stages},
        collated_stages=_collated_stages(policy),
        stage_times=_stage_times(policy, differences),
        months=tuple(period.months()),
    )


def _collated_stages(policy: Policy) -> tuple[int, ...]:
    return tuple(
        s.number
        for s in policy.stages
        if s.people is People.PARTNERSHIP or (s.seniority_level or 0) >= COLLATE_FROM_LEVEL
    )


def _difference(
    esc: Escalation,
    policy: Policy,
    as_at: datetime,
    calendar: WorkingCalendar,
    lookup,
    case_references: bool,
) -> Difference:
    # The snapshot the difference was raised under decides its own stages and timescales.
    runs = tuple(_stage_run(esc, i, as_at, calendar) for i in range(len(esc.stages)))
    category = esc.policy.category(esc.category) or policy.category(esc.category)
    actions = list(esc.agreed_actions)
    actions += [o["what"] for o in esc.owned_actions if o.get("what") and o["what"] not in actions]
    opened = esc.opened_at.astimezone(LONDON)
    reached = max(s.number for s in esc.stages)
    return Difference(
        id=esc.id,
        case_reference=esc.case_reference if case_references else None,
        opened_at=esc.opened_at,
        month=f"{opened.year:04d}-{opened.month:02d}",
        category=category.label if category else esc.category,
        urgent=esc.urgent,
        immediate_risk=esc.immediate_risk,
        raising_agency=esc.agency_of(RAISING, lookup) or UNKNOWN_AGENCY,
        other_agency=esc.agency_of(OTHER, lookup) or UNKNOWN_AGENCY,
        status=esc.status,
        stage=reached,
        ended_at=esc.ended_at,
        ended_at_stage=esc.stage.number if not esc.is_open else None,
        overdue_working_days=max((r.late_working_days for r in runs), default=0),
        collated=any(n in _collated_stages(esc.policy) for n in range(1, reached + 1)),
        agreed_actions=tuple(a[:ACTION_TEXT] for a in actions) if not esc.is_open else (),
        stages=runs,
    )


def _stage_run(esc: Escalation, index: int, as_at: datetime, calendar: WorkingCalendar) -> StageRun:
    state = esc.stages[index]
    end = state.ended_at or as_at
    try:
        timescale = esc.policy.stage(state.number).timescale(urgent=esc.urgent)
        hours = timescale.kind is TimescaleKind.HOURS
    except KeyError:
        hours = False
    start = state.started_at
    taken = hours_taken(start, end) if hours else working_days_taken(start, end, calendar)
    late = working_days_late(state.due, end, calendar) if state.due else 0
    return StageRun(
        number=state.number,
        unit=HOURS if hours else WORKING_DAYS,
        taken=taken,
        finished=state.ended_at is not None,
        late_working_days=late,
    )


def _stage_times(policy: Policy, differences: list[Difference]) -> tuple[StageTimes, ...]:
    groups: dict[tuple[int, str], list[StageRun]] = {}
    for d in differences:
        for run in d.stages:
            groups.setdefault((run.number, run.unit), []).append(run)
    rows = []
    for (number, unit), runs in sorted(groups.items()):
        try:
            stage = policy.stage(number)
            title = stage.title
            timescale = stage.timescale(urgent=unit == HOURS).describe()
        except KeyError:
            title, timescale = f"Stage {number}", "not in the current policy"
        # A stage still running has taken at least this long: it counts towards the worst, and
        # the median is of stages that finished, so a stage just begun does not flatter it.
        done = [r.taken for r in runs if r.finished]
        rows.append(
            StageTimes(
                number=number,
                title=title,
                unit=unit,
                timescale=timescale,
                runs=len(runs),
                finished=len(done),
                median=median(done),
                worst=max((r.taken for r in runs), default=None),
                over_time=sum(1 for r in runs if r.late_working_days),
            )
        )
    return tuple(rows)
