"""Marking a difference urgent part-way through: the child may now be at increased risk."""

from __future__ import annotations

from bot import notices, outgoing, reminders
from bot.calendar import WorkingCalendar
from bot.commands import MarkUrgent
from bot.errors import InvalidInput
from bot.escalation import Escalation
from bot.ledger import Ledger
from bot.messages import Message
from bot.timeline import stage_due
from bot.wording import MAX_TEXT, name, when


def mark_urgent(esc: Escalation, c: MarkUrgent, ledger: Ledger, calendar: WorkingCalendar) -> list[Message]:
    """From now on the policy's urgent timescales apply: the current stage is due within its
    urgent time of now, if that is sooner, and everyone is shown the policy's urgent route."""
    if esc.urgent:
        raise InvalidInput({"reason": f"{esc.id} is already urgent."})
    if esc.policy.urgent_when is None:
        raise InvalidInput(
            {"reason": f"The {esc.policy.short_name} policy does not say when a difference is urgent."}
        )
    reason = c.reason.strip()
    if not reason:
        raise InvalidInput({"reason": "Please say why the child may now be at increased risk."})
    now = ledger.clock.now()
    stage = esc.policy.stage(esc.stage.number)
    sooner = None
    if stage.urgent is not None:
        urgent_due = stage_due(
            stage, stage_start=now, escalation_start=esc.opened_at, urgent=True, calendar=calendar
        )
        if urgent_due is not None and (esc.stage.due is None or urgent_due < esc.stage.due):
            sooner = urgent_due
    data = {"reason": reason[:MAX_TEXT]}
    if sooner is not None:
        data |= {"due": sooner.isoformat(), "due_basis": "policy"}
    ledger.record(esc, "marked_urgent", c.actor, data)
    ledger.store.replace_reminders(esc.id, reminders.plan_stage(esc, calendar, now=now))
    ledger.save(esc)
    by = name(c.actor, ledger.store.person)
    lines = [
        f"Urgent: {by} marked {esc.id} urgent",
        notices.heading(esc),
        f"{by} marked this urgent: {reason}",
    ]
    if sooner is not None:
        lines.append(
            f"Under the {esc.policy.short_name} policy's urgent timescale ({stage.urgent.describe()}), "
            f"stage {stage.number} is now due by {when(sooner)}."
        )
    elif stage.urgent is None:
        lines.append(
            f"The {esc.policy.short_name} policy gives no shorter urgent timescale for this stage: "
            "set an earlier due time that protects the child."
        )
    route = notices.urgent_route(esc, ledger.directory)
    if route:
        lines.append(route)
    return outgoing.to_everyone(esc, "\n".join(lines))
