"""Starting a stage: its due time, the people it reaches (asking for any the directory can't name),
and its reminders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot import outgoing, reminders
from bot.calendar import WorkingCalendar
from bot.escalation import Escalation
from bot.ledger import Ledger
from bot.messages import Message
from bot.stage_people import MANAGER, ROLE, stage_people
from bot.timeline import stage_due, stage_milestones


@dataclass
class StageStart:
    """What starting a stage did: who joined the escalation, and the questions asked."""

    new_people: list[str] = field(default_factory=list)
    questions: list[Message] = field(default_factory=list)


def start_clock(
    esc: Escalation,
    number: int,
    *,
    actor: str,
    target_due: datetime | None,
    ledger: Ledger,
    calendar: WorkingCalendar,
    reason: str = "",
) -> None:
    """Record stage `number` starting now, with its timescale from now; the people stay as they are."""
    now = ledger.clock.now()
    stage = esc.policy.stage(number)
    policy_due = stage_due(
        stage, stage_start=now, escalation_start=esc.opened_at, urgent=esc.urgent, calendar=calendar
    )
    if policy_due is None:
        due, basis = target_due, "locally agreed"
    elif target_due is not None and now < target_due < policy_due:
        due, basis = target_due, "brought forward"
    else:
        due, basis = policy_due, "policy"
    milestones = stage_milestones(stage, stage_start=now, calendar=calendar)
    ledger.record(
        esc,
        "stage_started",
        actor,
        {
            "number": number,
            "policy_due": policy_due.isoformat() if policy_due else None,
            "due": due.isoformat() if due else None,
            "due_basis": basis,
            "milestones": [{"id": m.id, "name": m.name, "due": m.due.isoformat()} for m in milestones],
            **({"reason": reason} if reason else {}),
        },
    )


def enter_stage(
    esc: Escalation,
    number: int,
    *,
    actor: str,
    target_due: datetime | None,
    ledger: Ledger,
    calendar: WorkingCalendar,
    reason: str = "",
) -> StageStart:
    """Start stage `number` of `esc` now and record who it reaches."""
    # A new escalation has no questions or reminders to close yet: two writes fewer on a raise.
    new = not esc.stages
    start_clock(
        esc, number, actor=actor, target_due=target_due, ledger=ledger, calendar=calendar, reason=reason
    )
    stage = esc.policy.stage(number)
    started = StageStart()
    if not new:
        ledger.store.close_questions(esc.id)  # what an earlier stage asked no longer holds this one up
    reached, unknown = stage_people(esc, stage, ledger.directory)
    already = esc.participants()
    for item in reached:
        side_now = esc.side_of(item.person)
        if side_now not in (None, item.side) or item.person in esc.stage.people.get(item.side, []):
            continue  # on the other side already, or reached twice (e.g. an admin who is also a lead)
        # Recorded even for someone already on it: the stage's people are who handle each side now.
        ledger.record(
            esc, "participant_added", actor, {"side": item.side, "person": item.person, "stage": number}
        )
        if item.person not in already:
            started.new_people.append(item.person)
    for gap in unknown:
        if gap.kind == MANAGER:
            ledger.record(esc, "manager_requested", actor, {"side": gap.side, "asked": gap.ask})
            ledger.store.add_question(esc.id, gap.ask, MANAGER, {"side": gap.side, "stage": number})
            started.questions.append(outgoing.manager_question(esc, gap.ask, gap.side))
            continue
        assert gap.role is not None
        data = {"side": gap.side, "stage": number, "role": gap.role.value, "agency": gap.agency or ""}
        ledger.record(esc, "role_requested", actor, {**data, "asked": gap.ask})
        question_id = ledger.store.add_question(esc.id, gap.ask, ROLE, data)
        started.questions.append(outgoing.role_question(esc, gap, question_id))
    planned = reminders.plan_stage(esc, calendar)
    if new:
        ledger.store.add_reminders(esc.id, planned)
    else:
        ledger.store.replace_reminders(esc.id, planned)
    return started
