"""What the reminders say and to whom: the sending half of `EscalationBot.run_due`."""

from __future__ import annotations

from datetime import datetime

from bot import digest, monthly, notices, outgoing, reminders, retention
from bot.calendar import WorkingCalendar
from bot.escalation import OTHER, RAISING, RESOLVED, SIDES, Escalation
from bot.ledger import Ledger
from bot.messages import Action, ActionKind, Message, MessageKind
from bot.policy import PolicyLibrary
from bot.storage import ReminderRow, Storage
from bot.wording import name, when, who


class ReminderSending:
    """Mixed into EscalationBot: builds each due reminder's messages from the current state.

    It relies on the core's store, calendar, `load`, `_record` and `_save`.
    """

    store: Storage
    calendar: WorkingCalendar
    ledger: Ledger
    policies: PolicyLibrary
    retention: retention.Retention

    def _reminder_messages(self, reminder: ReminderRow, now: datetime) -> tuple[list[Message], str]:
        if reminder.kind == retention.JOB:
            retention.nightly(self.store, self.retention, now)
            return [], "done"
        if reminder.kind == monthly.REPORT:
            messages, following = monthly.report_messages(self.store, self.policies, now, self.calendar)
            self.store.add_reminders(monthly.NO_ESCALATION, [following])
            return messages, "sent"
        if reminder.kind in digest.KINDS:
            since = datetime.fromisoformat(reminder.data["since"]) if reminder.data.get("since") else None
            messages, following = digest.digest_messages(self.store, reminder.kind, since, now, self.calendar)
            self.store.add_reminders(digest.NO_ESCALATION, [following])
            return messages, "sent"
        esc = self.load(reminder.escalation_id)
        if esc is None or esc.stage.number != reminder.stage:
            return [], "skipped"
        if reminder.kind == reminders.MILESTONE:
            return self._milestone_reminder(esc, reminder), "sent"
        if reminder.kind == reminders.MILESTONE_CHECK:
            return self._milestone_check(esc, reminder, now), "sent"
        if reminder.kind in {reminders.ACTION, reminders.ACTION_CHECK}:
            return self._agreed_action(esc, reminder, now), "sent"
        if not esc.is_open:
            return [], "skipped"
        due = esc.stage.due
        if due is None:
            return [], "skipped"
        if reminder.kind == reminders.AHEAD:
            if now >= due:
                return [], "skipped"  # it fell due meanwhile: the due reminder says it all
            text = (
                f"Due soon: {esc.id} stage {esc.stage.number} is due by {when(due)}\n{notices.heading(esc)}\n"
                f"Reminder: stage {esc.stage.number} is due by {when(due)}."
            )
            return outgoing.reminder_to_current(esc, text), "sent"
        if reminder.kind == reminders.DUE:
            following = esc.policy.stage(esc.stage.number + 1) if not esc.at_final_stage else None
            ask = (
                f"Is it resolved? If not, escalate to stage {following.number}: {following.title}."
                if following
                else "Is it resolved? This is the final stage of the policy."
            )
            text = (
                f"Due now: {esc.id} stage {esc.stage.number} was due {when(due)}\n{notices.heading(esc)}\n"
                f"Stage {esc.stage.number} is due now ({when(due)}). {ask}"
            )
            # An urgent difference is offered the policy's urgent route again as its time runs out.
            route = notices.urgent_route(esc, self.ledger.directory) if esc.urgent else None
            if route:
                text += f"\n{route}"
            return outgoing.reminder_to_current(esc, text), "sent"
        return self._overdue(esc, reminder, now), "sent"

    def _overdue(self, esc: Escalation, reminder: ReminderRow, now: datetime) -> list[Message]:
        """Chase the stage's people, each told what they can do; the next level up hears once.
        The partnership admins hear in their daily digest (bot/digest.py), never per chase."""
        repeat = int(reminder.data.get("repeat", 0))
        current = esc.current_people()
        due = esc.stage.due
        assert due is not None
        first_line = f"Overdue: {esc.id} stage {esc.stage.number} was due {when(due)}"
        messages = [
            Message(
                to=p,
                text=f"{first_line}\n{notices.heading(esc)}\n{self._next_step(esc, p)}",
                kind=MessageKind.REMINDER,
                escalation_id=esc.id,
                actions=outgoing.reminder_actions(esc, p),
                in_thread=True,
            )
            for p in current
        ]
        above: list[str] = []
        if repeat == 0:
            for side in SIDES:
                for handler in esc.handling(side):
                    person = self.store.person(handler)
                    if person and person.manager_id and person.manager_id not in current:
                        above.append(person.manager_id)
        lookup = self.store.person
        for person_id in dict.fromkeys(above):
            # The next level up is told *that* it is overdue and who to ask, not what it is about:
            # they are not on the escalation (yet), so they see none of its content.
            managed = [p for p in current if self._manages(person_id, p)] or current
            team = [who(p, lookup) for p in managed]
            short = [name(p, lookup) for p in managed]
            messages.append(
                Message(
                    to=person_id,
                    text=(
                        f"{first_line}\n{esc.id} · {esc.policy.short_name} policy\n"
                        f"{', '.join(team)} is working on a professional difference about a child's "
                        f"safety whose stage {esc.stage.number} has not moved on by its due time. "
                        f"Please talk to {' and '.join(short)} about it."
                    ),
                    kind=MessageKind.REMINDER,
                    escalation_id=esc.id,
                )
            )
        told = {"told": [m.to for m in messages], "above": list(dict.fromkeys(above)), "repeat": repeat}
        self._record(esc, "overdue_notified", "bot", told)
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

    def _next_step(self, esc: Escalation, person_id: str) -> str:
        """What this person can do about an overdue stage, in their own terms."""
        lookup = self.store.person
        side = esc.side_of(person_id)
        if side not in SIDES or esc.at_final_stage:
            return "This is the final stage of the policy: the partnership decides."
        other = OTHER if side == RAISING else RAISING
        counterpart = ", ".join(name(p, lookup) for p in esc.handling(other)) or "the other side"
        if side == RAISING:
            following = esc.policy.stage(esc.stage.number + 1)
            return (
                f"Talk to {counterpart}. If it is resolved, tap Resolved; if not, tap Escalate to move "
                f"it to stage {following.number}: {following.title}."
            )
        return f"Talk to {counterpart}. If you think it is resolved, tap Resolved to propose it to them."

    def _manages(self, manager_id: str, person_id: str) -> bool:
        person = self.store.person(person_id)
        return bool(person and person.manager_id == manager_id)

    def _milestone_reminder(self, esc: Escalation, reminder: ReminderRow) -> list[Message]:
        """To the person the step falls to only: who must do what, to whom, by when; one tap for Done."""
        milestone = self._milestone(esc, reminder)
        if milestone is None or milestone.id in esc.milestones_met:
            return []
        due = datetime.fromisoformat(reminder.data["due"])
        lookup = self.store.person
        messages = []
        for side, person_id in self._responsible(esc, milestone.who):
            other = OTHER if side == RAISING else RAISING
            to_whom = (
                ", ".join(name(p, lookup) for p in esc.handling(other)) if milestone.who != "both" else ""
            )
            task = f"{milestone.name}" + (f" (with {to_whom})" if to_whom else "")
            text = (
                f"To do: {name(person_id, lookup)}: {task} by {when(due)}\n{notices.heading(esc)}\n"
                f"The {esc.policy.short_name} policy asks you to do this by {when(due)}. "
                "Tap Done when it is done, so the record shows it."
            )
            messages.append(
                Message(
                    to=person_id,
                    text=text,
                    kind=MessageKind.REMINDER,
                    escalation_id=esc.id,
                    actions=(Action(ActionKind.MILESTONE_DONE, esc.id, milestone.id),),
                )
            )
        return messages

    def _milestone_check(self, esc: Escalation, reminder: ReminderRow, now: datetime) -> list[Message]:
        """At its due time a step not marked done is recorded as missed."""
        milestone = self._milestone(esc, reminder)
        if milestone is None or milestone.id in esc.milestones_met:
            return []
        self._record(
            esc,
            "milestone_missed",
            "bot",
            {"milestone": milestone.id, "name": milestone.name, "due": reminder.data["due"]},
        )
        self._save(esc, now)
        return []

    def _agreed_action(self, esc: Escalation, reminder: ReminderRow, now: datetime) -> list[Message]:
        """An agreed action's owner is reminded on its day; at its end, if not done, it is recorded
        and the raising side may reopen the difference."""
        index = int(reminder.data["index"])
        if esc.status != RESOLVED or index in esc.actions_done:
            return []
        lookup = self.store.person
        what, owner, by = (
            reminder.data["what"],
            reminder.data["owner"],
            datetime.fromisoformat(reminder.data["by"]),
        )
        if reminder.kind == reminders.ACTION:
            if now >= by:
                return []  # its day is over (the bot was down): the check says it all
            text = (
                f"To do: {name(owner, lookup)}: {what} by {when(by)}\n{notices.heading(esc)}\n"
                f"You agreed to this when {esc.id} was resolved. Tap Done when it is done."
            )
            done = Action(ActionKind.ACTION_DONE, esc.id, str(index))
            return [
                Message(to=owner, text=text, kind=MessageKind.REMINDER, escalation_id=esc.id, actions=(done,))
            ]
        self._record(esc, "action_not_done", "bot", {"index": index, "what": what, "by": by.isoformat()})
        self._save(esc, now)
        text = (
            f"Not done: {what} ({name(owner, lookup)}) was due {when(by)}\n{notices.heading(esc)}\n"
            f"If the child is not protected without it, reopen {esc.id}: it returns to stage "
            f"{esc.stage.number} with that stage's timescale afresh."
        )
        actions = (Action(ActionKind.REOPEN, esc.id), Action(ActionKind.ACTION_DONE, esc.id, str(index)))
        return [
            Message(to=p, text=text, kind=MessageKind.REMINDER, escalation_id=esc.id, actions=actions)
            for p in esc.handling(RAISING)
        ]

    def _milestone(self, esc: Escalation, reminder: ReminderRow):
        stage = esc.policy.stage(reminder.stage)
        return next((m for m in stage.milestones if m.id == reminder.data["milestone"]), None)

    @staticmethod
    def _responsible(esc: Escalation, who_: str) -> list[tuple[str, str]]:
        """(side, person) for everyone a step falls to now: the people handling that side."""
        sides = SIDES if who_ == "both" else (who_,)
        found = [(side, p) for side in sides if esc.sides[side] for p in esc.handling(side)]
        return list(dict.fromkeys(found))
