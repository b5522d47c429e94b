"""What the reminders say and to whom: the sending half of `EscalationBot.run_due`."""

from __future__ import annotations

from datetime import datetime

from bot import notices, outgoing, reminders
from bot.calendar import WorkingCalendar
from bot.escalation import SIDES, Escalation
from bot.ledger import Ledger
from bot.messages import Message, MessageKind
from bot.storage import ReminderRow, Storage
from bot.wording import when, who


class ReminderSending:
    """Mixed into EscalationBot: builds each due reminder's messages from the current state.

    It relies on the core's store, calendar, `load`, `_record` and `_save`.
    """

    store: Storage
    calendar: WorkingCalendar
    ledger: Ledger

    def _reminder_messages(self, reminder: ReminderRow, now: datetime) -> tuple[list[Message], str]:
        esc = self.load(reminder.escalation_id)
        if esc is None or esc.stage.number != reminder.stage:
            return [], "skipped"
        if reminder.kind == reminders.MILESTONE:
            return self._milestone_reminder(esc, reminder), "sent"
        if not esc.is_open:
            return [], "skipped"
        due = esc.stage.due
        if due is None:
            return [], "skipped"
        if reminder.kind == reminders.AHEAD:
            if now >= due:
                return [], "skipped"  # it fell due meanwhile: the due reminder says it all
            text = f"{notices.heading(esc)}\nReminder: stage {esc.stage.number} is due by {when(due)}."
            return outgoing.reminder_to_current(esc, text), "sent"
        if reminder.kind == reminders.DUE:
            following = esc.policy.stage(esc.stage.number + 1) if not esc.at_final_stage else None
            ask = (
                f"Is it resolved? If not, escalate to stage {following.number}: {following.title}."
                if following
                else "Is it resolved? This is the final stage of the policy."
            )
            text = f"{notices.heading(esc)}\nStage {esc.stage.number} is due now ({when(due)}). {ask}"
            # An urgent difference is offered the policy's urgent route again as its time runs out.
            route = notices.urgent_route(esc, self.ledger.directory) if esc.urgent else None
            if route:
                text += f"\n{route}"
            return outgoing.reminder_to_current(esc, text), "sent"
        return self._overdue(esc, reminder, now), "sent"

    def _overdue(self, esc: Escalation, reminder: ReminderRow, now: datetime) -> list[Message]:
        """Tell the stage's people and the next level up; an overdue stage never stalls silently."""
        repeat = int(reminder.data.get("repeat", 0))
        current = esc.current_people()
        above: list[str] = []
        for side in SIDES:
            for handler in esc.handling(side):
                person = self.store.person(handler)
                if person and person.manager_id and person.manager_id not in current:
                    above.append(person.manager_id)
        if not above or repeat >= reminders.OVERDUE_TO_PARTNERSHIP_FROM:
            above += [a.id for a in self.store.admins(esc.policy.id) if a.id not in current]
        above = list(dict.fromkeys(above))
        due = esc.stage.due
        assert due is not None
        text = (
            f"{notices.heading(esc)}\nOVERDUE: stage {esc.stage.number} was due by {when(due)} "
            "and is not yet resolved or escalated."
        )
        messages = outgoing.reminder_to_current(esc, text)
        lookup = self.store.person
        for person_id in above:
            # The next level up is told *that* it is overdue and who to ask, not what it is about:
            # they are not on the escalation (yet), so they see none of its content.
            team = [who(p, lookup) for p in current if self._manages(person_id, p)] or [
                who(p, lookup) for p in current
            ]
            messages.append(
                Message(
                    to=person_id,
                    text=(
                        f"{esc.id} · {esc.policy.short_name} policy\nOVERDUE: stage {esc.stage.number} of a "
                        f"professional difference was due by {when(due)} and has not moved on. Please ask "
                        f"{', '.join(team)} about it. Moving it to the next stage brings you in."
                    ),
                    kind=MessageKind.REMINDER,
                    escalation_id=esc.id,
                )
            )
        self._record(esc, "overdue_notified", "bot", {"told": current + above, "repeat": repeat})
        self._save(esc, now)
        hourly = bool(reminder.data.get("hourly", reminders.is_hourly(esc)))
        following, at = reminders.next_overdue(due, self.calendar, repeat + 1, now, hourly=hourly)
        self.store.add_reminders(
            esc.id,
            [
                (
                    esc.stage.number,
                    reminders.OVERDUE,
                    at,
                    {"due": due.isoformat(), "repeat": following, "hourly": hourly},
                )
            ],
        )
        return messages

    def _manages(self, manager_id: str, person_id: str) -> bool:
        person = self.store.person(person_id)
        return bool(person and person.manager_id == manager_id)

    def _milestone_reminder(self, esc: Escalation, reminder: ReminderRow) -> list[Message]:
        stage = esc.policy.stage(reminder.stage)
        milestone = next((m for m in stage.milestones if m.id == reminder.data["milestone"]), None)
        if milestone is None:
            return []
        due = datetime.fromisoformat(reminder.data["due"])
        sides = SIDES if milestone.who == "both" else (milestone.who,)
        people = list(dict.fromkeys(p for side in sides if esc.sides[side] for p in esc.handling(side)))
        text = f"{notices.heading(esc)}\nReminder: {milestone.name} by {when(due)}."
        return [
            Message(to=p, text=text, kind=MessageKind.REMINDER, escalation_id=esc.id, in_thread=True)
            for p in people
        ]
