"""A sample history for trying `list`, `export` and `report`: differences played through the core.

Every difference is raised, moved on, resolved or withdrawn with the core's own commands, time
moved by a manual clock, so the database is exactly what a partnership's would be. Each returns a
`Played` log of what was done and when, which tests count from without the report's code.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from bot.calendar import LONDON
from bot.clock import ManualClock
from bot.commands import AddNote, Command, EscalateStage, RaiseEscalation, Resolve, Withdraw
from bot.core import EscalationBot
from bot.people import Person, Role

AGENCIES = (
    ("csc", "Camden Children's Services"),
    ("wh", "Whittington Health"),
    ("met", "Metropolitan Police"),
    ("hps", "Hillside Primary School"),
)
POLICIES = ("camden", "enfield", "redbridge", "kingston-richmond", "cambridgeshire-peterborough")
URGENT_POLICIES = ("camden",)  # the only policy with urgent timescales from stage 1


def sample_people() -> list[Person]:
    """Per agency: two practitioners, their manager, a senior manager, and role holders; and a
    partnership admin for every policy."""
    people = []
    for key, agency in AGENCIES:
        senior = Person(f"{key}-senior", f"{key.upper()} Senior", agency, "Service Manager")
        manager = Person(
            f"{key}-manager", f"{key.upper()} Manager", agency, "Team Manager", manager_id=senior.id
        )
        people += [senior, manager]
        people += [
            Person(
                f"{key}-p{n}",
                f"{key.upper()} Practitioner {n}",
                agency,
                "Practitioner",
                manager_id=manager.id,
            )
            for n in (1, 2)
        ]
        people.append(
            Person(
                f"{key}-lead",
                f"{key.upper()} Lead",
                agency,
                "Named Safeguarding Lead",
                roles=(Role.NAMED_LEAD, Role.DESIGNATED_PROFESSIONAL),
            )
        )
        people.append(
            Person(
                f"{key}-head",
                f"{key.upper()} Head",
                agency,
                "Head of Service",
                roles=(Role.HEAD_OF_SERVICE, Role.SENIOR_MANAGER),
            )
        )
    people.append(
        Person("partnership-admin", "Partnership Admin", "The Partnership", "Business Manager", admin=True)
    )
    return people


@dataclass
class Played:
    """What the history did to one difference, and when: the test's own account of it."""

    policy_id: str
    raiser: str
    counterpart: str
    case_reference: str
    raising_agency: str
    other_agency: str
    category: str
    urgent: bool
    opened_at: datetime
    escalated_at: list[datetime] = field(default_factory=list)  # each move to the next stage
    ended: str | None = None  # "resolved", "withdrawn" or None (left open)
    ended_at: datetime | None = None
    agreed_actions: tuple[str, ...] = ()
    id: str = ""

    def stage_at(self, moment: datetime) -> int:
        return 1 + sum(1 for t in self.escalated_at if t < moment)


def _working_time(day: datetime, rng: random.Random) -> datetime:
    """A time in office hours on or after `day`'s date, on a weekday."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day.date(), time(rng.randint(8, 16), rng.choice((0, 15, 30, 45))), tzinfo=LONDON)


def play_history(
    bot: EscalationBot,
    clock: ManualClock,
    *,
    count: int,
    first: datetime,
    last: datetime,
    seed: int = 11,
    finish_by: datetime | None = None,
) -> list[Played]:
    """Raise `count` differences between `first` and `last` and play each to its end (or leave it
    open), in time order; no step falls after `finish_by` (default: six weeks after `last`)."""
    rng = random.Random(seed)
    finish_by = finish_by or last + timedelta(weeks=6)
    people = {p.id: p for p in sample_people()}
    agencies = [key for key, _ in AGENCIES]
    steps: list[tuple[datetime, int, Played, str, int]] = []
    played: list[Played] = []
    span = (last - first).total_seconds()
    for n in range(count):
        policy = bot.policies.get(rng.choice(POLICIES))
        a, b = rng.sample(agencies, 2)
        raiser, counterpart = f"{a}-p{rng.randint(1, 2)}", f"{b}-p{rng.randint(1, 2)}"
        opened = _working_time(first + timedelta(seconds=rng.uniform(0, span)), rng)
        record = Played(
            policy_id=policy.id,
            raiser=raiser,
            counterpart=counterpart,
            case_reference=f"CASE-{n + 1:05d}",
            raising_agency=people[raiser].agency,
            other_agency=people[counterpart].agency,
            category=rng.choice(policy.categories).id,
            urgent=policy.id in URGENT_POLICIES and rng.random() < 0.2,
            opened_at=opened,
        )
        played.append(record)
        moves = rng.choices(range(len(policy.stages)), weights=[6, 4, 2, 1, 1, 1][: len(policy.stages)])[0]
        at = opened
        times = []
        for _ in range(moves):
            # Urgent differences move within hours; standard ones within days, some far too slowly.
            at += timedelta(hours=rng.uniform(2, 30)) if record.urgent else timedelta(days=rng.uniform(1, 12))
            times.append(at)
        end = rng.choices(("resolved", "withdrawn", None), weights=(6, 2, 2))[0]
        if end is None and opened < last - timedelta(days=60):
            end = "resolved"  # mostly the recent ones are still open; a few older ones stall
            end = end if rng.random() < 0.8 else None
        end_at = at + (
            timedelta(hours=rng.uniform(1, 20)) if record.urgent else timedelta(days=rng.uniform(0.5, 9))
        )
        if (times and times[-1] > finish_by) or end_at > finish_by:
            times, end = [t for t in times if t <= finish_by], None
        record.escalated_at = times
        if end:
            record.ended, record.ended_at = end, end_at
            if end == "resolved" and rng.random() < 0.6:
                record.agreed_actions = (f"Joint visit within {rng.randint(2, 10)} working days",)
        _plan(steps, record)
    heapq.heapify(steps)
    while steps:
        at, _, record, kind, number = heapq.heappop(steps)
        clock.set(at)
        messages = bot.handle(_command(bot, record, kind, number, at))
        if kind == "raise":
            record.id = next(m.escalation_id for m in messages if m.escalation_id)
    return played


def _plan(steps: list, record: Played) -> None:
    """The steps of one difference, each (when, order, record, kind, stage number)."""
    plan = [(record.opened_at, "raise", 1), (record.opened_at + timedelta(hours=1), "note", 1)]
    plan += [(at, "escalate", index + 2) for index, at in enumerate(record.escalated_at)]
    if record.ended and record.ended_at:
        plan.append((record.ended_at, record.ended, 0))
    for at, kind, number in plan:
        steps.append((at, len(steps), record, kind, number))


def _command(bot: EscalationBot, record: Played, kind: str, number: int, at: datetime) -> Command:
    policy = bot.policies.get(record.policy_id)
    # Where the policy sets no timescale the bot asks for a locally agreed target: its default.
    given = policy.stage(number).timescale(urgent=record.urgent).given if number else True
    target = None if given else bot.suggested_target(at)
    if kind == "raise":
        return RaiseEscalation(
            actor=record.raiser,
            policy_id=record.policy_id,
            case_reference=record.case_reference,
            counterpart=record.counterpart,
            category=record.category,
            issue="The plan for the family does not match the risk we see.",
            risk="Missed appointments and a recent unexplained injury.",
            outcome_wanted="Agree a joint plan before the review.",
            urgent=record.urgent,
            target_due=target,
        )
    if kind == "note":
        return AddNote(record.raiser, record.id, "Spoke by phone; still not agreed.")
    if kind == "escalate":
        return EscalateStage(
            record.raiser, record.id, reason="No agreement at this stage.", target_due=target
        )
    if kind == "resolved":
        return Resolve(record.raiser, record.id, "Agreed a joint plan.", agreed_actions=record.agreed_actions)
    return Withdraw(record.raiser, record.id, "New information changed the picture.")
