"""The conversation core: commands in, messages out, every change recorded as an event."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any

from bot import (
    digest,
    leavers,
    monthly,
    naming,
    notices,
    outgoing,
    reminders,
    resolution,
    retention,
    subscriptions,
)
from bot.calendar import LONDON, WorkingCalendar
from bot.clock import Clock
from bot.commands import (
    ActionDone,
    AddNote,
    AnswerProposal,
    Command,
    CorrectNote,
    DetailNote,
    EscalateStage,
    MarkUrgent,
    MilestoneDone,
    NameManager,
    NameRoleHolder,
    RaiseEscalation,
    Reopen,
    Resolve,
    SetEarlierDue,
    Withdraw,
)
from bot.errors import InvalidInput, Refused
from bot.escalation import (
    OTHER,
    RAISING,
    SIDES,
    Escalation,
    escalation_id,
)
from bot.ledger import Ledger
from bot.listing import EVERY, LEAD_ROLES, ListFilter, Listing, Scope, chat_list, scope_of
from bot.messages import Message, MessageKind, note_actions
from bot.people import Newcomer, Person, add_newcomer, agency_key, newcomer_problems, search
from bot.policy import Anchor, People, Policy, PolicyLibrary
from bot.policy.text import emergency_text
from bot.record import erased_notice, export_markdown
from bot.reminder_sending import ReminderSending
from bot.stages import StageStart, enter_stage
from bot.storage import EscalationRow, Question, Storage, StoredEvent
from bot.sweep_store import SweepStore
from bot.timeline import milestone_due
from bot.urgency import mark_urgent
from bot.wording import MAX_SHORT, MAX_TEXT, clip, name, stamp, when, who

CASE_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 /._:#-]{0,39}$")
CASE_REFERENCE_PROBLEM = (
    "Use the agency's case reference, with its number (e.g. CIN-20931): up to 40 letters, "
    "numbers and - / . characters. Never use the child's name."
)


def case_reference_problem(text: str) -> str | None:
    """Why `text` is not a case reference (None if it is). Every agency's reference has a number
    in it; one without is most likely a name, and a child's name must never reach the record."""
    text = " ".join(text.split())
    if not text:
        return "Enter the agency's case reference."
    if not CASE_REFERENCE.match(text) or not any(ch.isdigit() for ch in text):
        return CASE_REFERENCE_PROBLEM
    return None


DEFAULT_LOCAL_TARGET_DAYS = 5


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class EscalationBot(ReminderSending):
    """The core. Adapters call `handle` for commands and `run_due` from their reminder loop."""

    store: Storage
    policies: PolicyLibrary
    clock: Clock
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    # How long closed escalations' content is kept (RETENTION); erased each night by run_due.
    retention: retention.Retention = field(default_factory=retention.Retention)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.store, self.clock)

    # -- entry points ------------------------------------------------------------------------

    def handle(self, command: Command) -> list[Message]:
        """Apply a command; returns (and queues in the outbox) the messages it causes."""
        # Each person read once for the command (bot/sweep_store.py): a raise otherwise asks for
        # the same four people ten times, each a round trip on PostgreSQL.
        bot = replace(self, store=SweepStore(self.store))
        handler: Callable[[Any], list[Message]] = getattr(bot, f"_on_{type(command).__name__}")
        with bot.store.transaction():
            # Who caused each message, so a message that finally cannot be delivered is reported.
            messages = [replace(m, data={**m.data, "caused_by": command.actor}) for m in handler(command)]
            messages = bot._reachable(messages)
            bot.store.enqueue(messages, now=self.clock.now())
        return messages

    def check_raise(self, command: RaiseEscalation) -> None:
        """Raise InvalidInput (by field) or Refused as `handle(command)` would, recording nothing:
        so a form can be answered before the raise itself is made."""
        self._validate_raise(command, self.clock.now())

    def refuse_identity_claim(self, person_id: str, platform: str, how: str) -> list[Message]:
        """Someone on `platform` claimed to be a directory person already linked to another
        account: the claim was refused; the partnership admins are told, so a real change of
        account can be put right in the directory."""
        person = self.store.person(person_id)
        if person is None:
            return []
        text = (
            f"Someone in {platform} claimed to be {person.describe()} ({how}), but {person.name} is "
            f"already linked to another {platform} account. The claim was refused and they see nothing. "
            f"If {person.name} really has a new account, update their {platform.lower()}_id in the "
            "directory."
        )
        notices = [Message(to=a.id, text=text, kind=MessageKind.NOTICE) for a in self.store.admins()]
        self.store.enqueue(notices, now=self.clock.now())
        return notices

    def report_undelivered(self, message: Message) -> list[Message]:
        """Tell whoever caused a message (for reminders, the partnership admins) that it could not
        be delivered, so nothing is lost silently."""
        if message.data.get("undelivered_report"):
            return []
        cause = message.data.get("caused_by")
        row = self.store.escalation_row(message.escalation_id) if message.escalation_id else None
        policy_id = row.policy_id if row else None
        tell = [cause] if cause and cause != "bot" else [a.id for a in self.store.admins(policy_id)]
        tell = [p for p in tell if p != message.to]
        lookup = self.store.person
        about = f" about {message.escalation_id}" if message.escalation_id else ""
        first_line = clip(message.text.splitlines()[1] if "\n" in message.text else message.text, 120)
        reports = [
            Message(
                to=person_id,
                text=(
                    f"We couldn't deliver a message to {who(message.to, lookup)}{about} "
                    f"(\u201c{first_line}\u201d). Please contact them directly. "
                    "Nothing in the record is lost."
                ),
                kind=MessageKind.NOTICE,
                escalation_id=message.escalation_id,
                data={"undelivered_report": True},
            )
            for person_id in tell
        ]
        self.store.enqueue(reports, now=self.clock.now())
        return reports

    def run_due(self, now: datetime | None = None) -> list[Message]:
        """Send every reminder due by `now`, once: claim, build, queue and mark in one transaction."""
        now = now or self.clock.now()
        sweep = self.sweeper()
        sweep.plan_due(now)
        sent: list[Message] = []
        while (batch := sweep.send_due_batch(now)) is not None:
            sent.extend(batch)
        return sent

    def plan_due(self, now: datetime) -> None:
        """`run_due`'s first step: the digests, monthly reports and erasures due by `now`, planned."""
        with self.store.transaction():
            digest.plan_missing(self.store, now, self.calendar)
            monthly.plan_missing(self.store, now, self.calendar)
            retention.plan_missing(self.store, self.retention, now)

    def sweeper(self) -> EscalationBot:
        """This bot for one sweep: it reads each person once (bot/sweep_store.py); the next sweep
        reads the directory afresh."""
        return replace(self, store=SweepStore(self.store))

    def send_due_batch(
        self,
        now: datetime,
        limit: int = 100,
        pause: Callable[[], bool] | None = None,
        *,
        at_least_one: bool = True,
    ) -> list[Message] | None:
        """`run_due`'s next step: a batch of at most `limit` reminders due by `now`, claimed, built,
        queued and marked in one transaction; None when none is left. Batches keep each write
        transaction short, and let an adapter do other work between them. `pause`, asked between
        reminders (and before the first unless `at_least_one`), ends a batch early, the rest left
        for the next: people's requests want the CPU."""
        if not at_least_one and pause is not None and pause():
            return []
        with self.store.transaction():
            batch = self.store.claim_due_reminders(now, limit)
            if isinstance(self.store, SweepStore):  # the batch's histories in one read
                self.store.read_histories(r.escalation_id for r in batch if r.escalation_id)
            queued: list[Message] = []
            finished: list[tuple[int, str]] = []
            for reminder in batch:
                if (finished or not at_least_one) and pause is not None and pause():
                    break
                messages, status = self._reminder_messages(reminder, now)
                queued.extend(messages)
                finished.append((reminder.id, status))
            finished += [(reminder.id, "pending") for reminder in batch[len(finished) :]]
            self.store.finish_reminders(finished)
            # Queued once a batch, in the order they were made, in the batch's transaction.
            queued = self._reachable(queued)
            self.store.enqueue(queued, now=now)
        return queued if batch else None

    def next_wakeup(self) -> datetime | None:
        """When the next reminder falls due, for a loop that sleeps until then."""
        return self.store.next_reminder_at()

    # -- queries -----------------------------------------------------------------------------

    def person(self, person_id: str) -> Person | None:
        return self.store.person(person_id)

    def load(self, escalation_id_: str) -> Escalation | None:
        return self.ledger.load(escalation_id_)

    def visible(self, actor: str, escalation_id_: str) -> Escalation:
        """The escalation, if `actor` is on it or a partnership admin; Refused otherwise."""
        esc = self.load(escalation_id_.strip().upper()[:40])
        if esc is None or not self._may_see(actor, esc):
            raise Refused(
                f"There is no escalation {clip(escalation_id_, 20)} that you are on. "
                "Only the people on an escalation can see it."
            )
        return esc

    def list_for(
        self, actor: str, filters: ListFilter = EVERY, *, limit: int = 50, offset: int = 0
    ) -> Listing:
        """What `actor` may see (on it; their policies' for an admin; their agency's for a lead),
        overdue first, as one page of at most `limit`, with the total it was cut from."""
        now = self.clock.now()
        own = Scope(person_id=actor)
        # Their own escalations read with who they are: most people's whole list, in one round trip.
        person, leads, (rows, total) = self.store.person_and_list(
            actor, LEAD_ROLES, own, filters, now=now, limit=limit, offset=offset
        )
        if person is None or not person.active:
            return Listing([], 0, now)
        scope = scope_of(person, leads)
        if scope != own:  # an admin or a lead: they see more than what they are on
            rows, total = self.store.list_escalations(scope, filters, now=now, limit=limit, offset=offset)
        return Listing(rows, total, now, offset)

    def list_text(self, actor: str, typed: str, *, size: int, command: str, code: str = "") -> str:
        """The answer to `list [overdue] [page]` in chat, for what `actor` may see."""

        def fetch(filters: ListFilter, limit: int, offset: int) -> Listing:
            return self.list_for(actor, filters, limit=limit, offset=offset)

        return chat_list(
            fetch, typed, size=size, calendar=self.calendar, viewer=actor, command=command, code=code
        )

    def list_all(self, filters: ListFilter = EVERY, *, limit: int = 50, offset: int = 0) -> Listing:
        """Every escalation matching `filters`, for the admin's command line."""
        now = self.clock.now()
        rows, total = self.store.list_escalations(
            Scope(everything=True), filters, now=now, limit=limit, offset=offset
        )
        return Listing(rows, total, now, offset)

    def list_every(
        self, filters: ListFilter = EVERY, *, now: datetime, page: int = 200
    ) -> Iterator[list[EscalationRow]]:
        """Every escalation matching `filters`, in `list_all`'s order as at `now`, a page at a time:
        each page is found by index where the last ended, so none costs more than the first."""
        after = None
        while True:
            rows = self.store.list_page(Scope(everything=True), filters, now=now, limit=page, after=after)
            if rows:
                yield rows
            if len(rows) < page:
                return
            after = rows[-1]

    def show(self, actor: str, escalation_id_: str) -> str:
        esc = self.visible(actor, escalation_id_)
        if erased_notice(esc):
            return erased_notice(esc) or ""
        self._note_access(actor, esc, "read the summary")
        status = "" if esc.is_open else f"\nStatus: {esc.status}."
        return notices.briefing(esc, self.store.person) + status

    def export(self, actor: str, escalation_id_: str) -> str:
        """The case record for the child's file, as Markdown."""
        esc = self.visible(actor, escalation_id_)
        if erased_notice(esc):
            return export_markdown(esc, self.store.person)
        self._note_access(actor, esc, "exported the record")
        return export_markdown(esc, self.store.person, exported_by=actor, exported_at=self.clock.now())

    def _note_access(self, actor: str, esc: Escalation, what: str) -> None:
        """Someone not on the escalation opened it (an admin, a lead): the history says who,
        when, what and as whom, so the record shows everyone who has read it."""
        if actor in esc.participants():
            return
        with self.store.transaction():
            self.ledger.record(esc, "record_opened", actor, {"what": what, "as": self._reads_as(actor, esc)})

    def role_question(self, actor: str, question_id: int) -> Question:
        """The open question "who holds this role?" that `actor` may answer (Refused or InvalidInput
        otherwise), so an adapter can check before adding anyone new to the directory."""
        return naming.asked(self.ledger, actor, question_id)

    def emergency_guidance(self, policy_id: str) -> str:
        return emergency_text(self.policies.get(policy_id))

    def suggested_target(self, start: datetime) -> datetime:
        """The default offered for a locally agreed target where a policy sets no timescale."""
        return self.calendar.working_days_after(start, DEFAULT_LOCAL_TARGET_DAYS)

    # -- commands ----------------------------------------------------------------------------

    def _on_RaiseEscalation(self, c: RaiseEscalation) -> list[Message]:
        now = self.clock.now()
        # Both people and the number, read at once under the raise's lock (a round trip each on
        # PostgreSQL otherwise); the people are then served from the command's store. The ids of
        # the two events it writes (raised, stage 1 begun) come with that read too.
        self.store.reserve_event_ids(2)
        _, number = self.store.people_and_next_number([c.actor, c.counterpart])
        policy, raiser, counterpart, fields = self._validate_raise(c, now)
        if not counterpart.id and c.newcomer is not None:
            counterpart = self.add_newcomer(raiser.id, c.newcomer)
        # Recorded in the raise's own transaction: a form whose answer was lost (a restart, a
        # double tap) and is submitted again raises one difference, not two.
        if c.submission and not self.store.first_sight("raise", c.submission, now=now):
            return []
        esc_id = escalation_id(number)
        urgent = c.urgent or c.immediate_risk
        data = {
            "policy": dict(policy.raw),
            "case_reference": fields["case_reference"],
            "counterpart": counterpart.id,
            "category": c.category,
            "issue": fields["issue"],
            "risk": fields["risk"],
            "outcome_wanted": fields["outcome_wanted"],
            "urgent": urgent,
            "immediate_risk": c.immediate_risk,
            "platform": c.platform,
            "disagreement_on": c.disagreement_on.isoformat() if c.disagreement_on else None,
        }
        # Its row is written once, whole, at the end (PostgreSQL checks the history's key to it
        # at commit): each write is a round trip there.
        seq = self.store.append_event(esc_id, at=now, kind="raised", actor=raiser.id, data=data)
        esc = Escalation.from_events([StoredEvent(seq, esc_id, now, "raised", raiser.id, data)])
        messages: list[Message] = []
        if c.immediate_risk:
            messages.append(
                Message(
                    to=raiser.id,
                    text=emergency_text(policy),
                    kind=MessageKind.NOTICE,
                    escalation_id=esc_id,
                    data={"emergency": True},
                )
            )
        started = self._enter_stage(esc, 1, actor=raiser.id, target_due=c.target_due)
        lookup = self.store.person
        stage = policy.stage(1)
        route = notices.stage_route(esc, lookup)
        urgent_route = notices.urgent_route(esc, self.ledger.directory) if urgent else None
        told = _and([counterpart.name, *(name(p, lookup) for p in started.new_people)])
        raiser_text = "\n".join(
            line
            for line in [
                f"You raised {esc.id} with {counterpart.name}",
                notices.heading(esc),
                f"You raised a professional difference with {who(counterpart.id, lookup)}.",
                notices.stage_block(esc),
                route,
                f"We've messaged {told}. "
                f"Talk to {counterpart.name}, then reply in this thread to record what was said.",
                urgent_route,
                *self._urgent_without_timescale(policy, urgent),
                *self._late_raise_lines(policy, c, now),
            ]
            if line
        )
        messages.append(outgoing.case_message(esc, raiser.id, raiser_text))
        counterpart_text = "\n\n".join(
            part
            for part in [
                f"{raiser.name} raised a professional difference with you: {esc.id}\n{notices.heading(esc)}",
                f"{who(raiser.id, lookup)} has raised a professional difference with you "
                f"under the {policy.short_name} policy.",
                notices.immediate_risk(esc, lookup),
                notices.summary(esc, lookup),
                notices.stage_block(esc) + (f"\n{route}" if route else ""),
                urgent_route,
                f"Please talk to {raiser.name} before then, and reply in this thread to record "
                "what was discussed.",
            ]
            if part
        )
        messages.append(outgoing.case_message(esc, counterpart.id, counterpart_text))
        if stage.people is not People.PRACTITIONERS:
            messages += outgoing.welcome(esc, started.new_people, self.store.person)
        messages += started.questions
        self.store.save_escalation(esc.row(now, self.store.person), number=number)
        return messages

    def _newcomer_counterpart(self, newcomer: Newcomer, errors: dict[str, str]) -> Person | None:
        """The person a raise's newcomer fields name: in the directory by email (a leaver too, to
        say so), else one to be added; None, with errors by field, when the details won't do."""
        problems = newcomer_problems(newcomer)
        if problems:
            errors.update({f"counterpart_{k}": v for k, v in problems.items()})
            return None
        known = self.store.person_by(email=newcomer.email.strip(), active_only=False)
        return known or Person(
            id="", name=newcomer.name.strip(), agency=newcomer.agency.strip(), role=newcomer.role.strip()
        )

    def _validate_raise(
        self, c: RaiseEscalation, now: datetime
    ) -> tuple[Policy, Person, Person, dict[str, str]]:
        errors: dict[str, str] = {}
        policy = self.policies.policies.get(c.policy_id)
        if policy is None:
            errors["policy"] = f"Choose one of the policies: {', '.join(self.policies.ids())}."
        raiser = self.store.person(c.actor)
        if raiser is not None and not raiser.active:
            raise Refused("You no longer use the bot: your partnership's admin has marked you as left.")
        if raiser is None:
            errors["actor"] = "You are not in the directory yet: tell us your agency and role first."
        counterpart = self.store.person(c.counterpart) if c.counterpart else None
        if counterpart is None and not c.counterpart and c.newcomer is not None and c.newcomer.given:
            counterpart = self._newcomer_counterpart(c.newcomer, errors)
            if counterpart is None:
                pass  # the newcomer's own fields say what is wrong
            elif not counterpart.active:
                errors["counterpart_email"] = f"{counterpart.name} has left. Choose who now does their work."
            elif counterpart.id == c.actor:
                errors["counterpart_email"] = "That is your own email: give the other professional's."
        elif counterpart is not None and not counterpart.active:
            errors["counterpart"] = f"{counterpart.name} has left. Choose who now does their work."
        elif counterpart is None:
            errors["counterpart"] = "We can't find that person in the directory. Choose someone else."
        elif counterpart.id == c.actor:
            errors["counterpart"] = "Choose the other professional, not yourself."
        fields = {
            "case_reference": " ".join(c.case_reference.split()),
            "issue": c.issue.strip(),
            "risk": c.risk.strip(),
            "outcome_wanted": c.outcome_wanted.strip(),
        }
        problem = case_reference_problem(fields["case_reference"])
        if problem:
            errors["case_reference"] = problem
        for key, label in (
            ("issue", "what the disagreement is"),
            ("risk", "the risk to the child"),
            ("outcome_wanted", "the outcome you want"),
        ):
            if not fields[key]:
                errors[key] = f"Please say {label}."
            elif len(fields[key]) > MAX_TEXT:
                errors[key] = f"Please keep this under {MAX_TEXT} characters."
        if c.disagreement_on is not None and c.disagreement_on > now.astimezone(LONDON).date():
            errors["disagreement_on"] = "The date the disagreement arose can't be in the future."
        if policy is not None:
            if c.category != "other" and policy.category(c.category) is None:
                errors["category"] = "Choose one of the policy's categories, or Other."
            first = policy.stage(1)
            urgent = c.urgent or c.immediate_risk
            if not first.timescale(urgent=urgent).given:
                target_error = self._target_problem(c.target_due, now, policy, 1)
                if target_error:
                    errors["target_due"] = target_error
        if errors:
            raise InvalidInput(errors)
        assert policy and raiser and counterpart
        return policy, raiser, counterpart, fields

    def _urgent_without_timescale(self, policy: Policy, urgent: bool) -> list[str]:
        if not urgent or policy.stage(1).urgent is not None:
            return []
        return [
            f"The {policy.short_name} policy gives no shorter urgent timescale: set an earlier due "
            "time that protects the child."
        ]

    def _late_raise_lines(self, policy: Policy, c: RaiseEscalation, now: datetime) -> list[str]:
        """Where the policy sets a time to raise a concern (Redbridge), say if that has passed."""
        if c.disagreement_on is None:
            return []
        arose = datetime.combine(c.disagreement_on, time(0, 0), tzinfo=LONDON)
        lines = []
        for milestone in policy.stage(1).milestones:
            if milestone.after is Anchor.DISAGREEMENT:
                due = milestone_due(milestone, arose, self.calendar)
                if now > due:
                    lines.append(
                        f"The {policy.short_name} policy asks for this within "
                        f"{milestone.within.describe()} of the disagreement (by {when(due)}). "
                        "That has passed: say why in a note. It still goes ahead."
                    )
        return lines

    def _target_problem(
        self, target: datetime | None, now: datetime, policy: Policy, number: int
    ) -> str | None:
        if target is None:
            return (
                f"The {policy.short_name} policy sets no timescale for stage {number}. "
                f"Agree a target date with the other side: we suggest {when(self.suggested_target(now))}."
            )
        if target.tzinfo is None:
            return "Give the target date with a time zone."
        if target <= now:
            return "The target date must be in the future."
        return None

    def _on_AddNote(self, c: AddNote) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id, allow_closed=True)
        discussed = c.discussed.strip()
        if not discussed:
            raise InvalidInput({"discussed": "Please say what was discussed."})
        if len(discussed) > MAX_TEXT:
            raise InvalidInput({"discussed": f"Please keep a note under {MAX_TEXT} characters."})
        if c.platform_ref and esc.note_by_ref(c.platform_ref):
            return []  # the same platform message delivered twice: recorded once
        now = self.clock.now()
        self._record(
            esc,
            "note_added",
            c.actor,
            {
                "discussed": discussed,
                "form": c.form.strip()[:MAX_SHORT] or "Message",
                "involved": c.involved.strip()[:MAX_SHORT],
                "outcome": c.outcome.strip()[:MAX_TEXT],
                "platform_ref": c.platform_ref,
            },
        )
        self._save(esc, now)
        seq = esc.notes[-1].seq
        if c.platform_ref:
            # A reply in the thread says only what was said. The policies' record also wants how it
            # happened, who was involved and the outcome: one tap each, then a short form.
            reply = Message(
                to=c.actor,
                text=(
                    f"Noted on {esc.id}. For the record: how did this happen? Tap one, then "
                    "Add who and outcome."
                ),
                kind=MessageKind.REPLY,
                escalation_id=esc.id,
                actions=note_actions(esc.id, seq),
                in_thread=True,
                data={"note_ref": c.platform_ref},
            )
        else:
            reply = Message(
                to=c.actor, text=f"Noted on {esc.id}.", kind=MessageKind.REPLY, escalation_id=esc.id
            )
        messages = [reply]
        author = name(c.actor, self.store.person)
        relay = f"{author} added a note on {esc.id}\n{notices.heading(esc)}\nNote from {author}: {discussed}"
        messages += [
            Message(to=p, text=relay, escalation_id=esc.id, in_thread=True, data=outgoing.BROADCAST)
            for p in esc.current_people()
            if p != c.actor
        ]
        return messages

    def _on_ActionDone(self, c: ActionDone) -> list[Message]:
        return resolution.action_done(
            self._actionable(c.actor, c.escalation_id, allow_closed=True), c, self.ledger
        )

    def _on_Reopen(self, c: Reopen) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id, allow_closed=True)
        return resolution.reopen(esc, c, self.ledger, self.calendar)

    def _on_MilestoneDone(self, c: MilestoneDone) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id, allow_closed=True)
        stage = esc.policy.stage(esc.stage.number)
        milestone = next((m for m in stage.milestones if m.id == c.milestone), None)
        if milestone is None:
            raise InvalidInput({"milestone": f"{esc.id} has no such step at stage {esc.stage.number}."})
        sides = (RAISING, OTHER) if milestone.who == "both" else (milestone.who,)
        if esc.side_of(c.actor) not in sides:
            raise Refused(f"This step falls to the other side: {milestone.name}.")
        if milestone.id in esc.milestones_met:
            by, at = esc.milestones_met[milestone.id]
            text = f"Already recorded as done by {name(by, self.store.person)} at {stamp(at)}."
            return [Message(to=c.actor, text=text, kind=MessageKind.REPLY, escalation_id=esc.id)]
        self._record(esc, "milestone_met", c.actor, {"milestone": milestone.id, "name": milestone.name})
        self._save(esc, self.clock.now())
        text = f"Recorded on {esc.id}: {milestone.name} - done."
        return [Message(to=c.actor, text=text, kind=MessageKind.REPLY, escalation_id=esc.id)]

    def _on_DetailNote(self, c: DetailNote) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id, allow_closed=True)
        note = next((n for n in esc.notes if n.seq == c.note), None)
        if note is None:
            raise InvalidInput({"note": f"There is no such note on {esc.id}."})
        if note.author != c.actor:
            raise Refused("Only the person who wrote a note can add its details.")
        details = {
            key: value.strip()[:limit]
            for key, value, limit in (
                ("form", c.form, MAX_SHORT),
                ("involved", c.involved, MAX_SHORT),
                ("outcome", c.outcome, MAX_TEXT),
            )
            if value is not None and value.strip()
        }
        if not details:
            raise InvalidInput({"outcome": "Please say who was involved or what the outcome was."})
        self._record(esc, "note_detailed", c.actor, {"note": note.seq, **details})
        self._save(esc, self.clock.now())
        said = "; ".join(f"{k}: {v}" for k, v in details.items() if k != "form")
        how = details.get("form", note.form)
        text = f"Recorded on {esc.id}: {how.lower()}" + (f"; {said}." if said else ".")
        return [Message(to=c.actor, text=text, kind=MessageKind.REPLY, escalation_id=esc.id)]

    def _on_CorrectNote(self, c: CorrectNote) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id, allow_closed=True)
        note = esc.note_by_ref(c.platform_ref)
        if note is None:
            return []  # an edit of a message that was never recorded (e.g. before joining)
        if note.author != c.actor:
            raise Refused("Only the person who wrote a note can correct it.")
        latest = note.corrections[-1][1] if note.corrections else note.discussed
        if c.text is None and note.corrections and latest is None:
            return []  # already recorded as deleted
        if c.text is not None and c.text.strip() == (latest or "").strip():
            return []
        text = c.text.strip()[:MAX_TEXT] if c.text is not None else None
        self._record(esc, "note_corrected", c.actor, {"corrects": note.seq, "text": text})
        self._save(esc, self.clock.now())
        said = "deleted" if text is None else "corrected"
        return [
            Message(
                to=c.actor,
                text=f"Your note on {esc.id} was {said}. The record keeps both versions.",
                kind=MessageKind.REPLY,
                escalation_id=esc.id,
            )
        ]

    def _on_Resolve(self, c: Resolve) -> list[Message]:
        return resolution.resolve(self._actionable(c.actor, c.escalation_id), c, self.ledger, self.calendar)

    def _on_AnswerProposal(self, c: AnswerProposal) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id)
        return resolution.answer_proposal(esc, c, self.ledger, self.calendar)

    def _on_EscalateStage(self, c: EscalateStage) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id)
        if esc.at_final_stage:
            raise InvalidInput(
                {"stage": f"{esc.id} is at the final stage of the {esc.policy.short_name} policy."}
            )
        now = self.clock.now()
        number = esc.stage.number + 1
        next_stage = esc.policy.stage(number)
        why = c.reason.strip()[:MAX_SHORT]
        if not why:
            # C&P: records must include "action taken to resolve"; why it could not be resolved
            # at this stage is what the next stage's people need first.
            raise InvalidInput({"reason": "Please say why it needs to go to the next stage."})
        if not next_stage.timescale(urgent=esc.urgent).given:
            problem = self._target_problem(c.target_due, now, esc.policy, number)
            if problem:
                raise InvalidInput({"target_due": problem})
        started = self._enter_stage(esc, number, actor=c.actor, target_due=c.target_due, reason=why)
        self._save(esc, now)
        lookup = self.store.person
        reason = f"\nWhy: {c.reason.strip()[:MAX_SHORT]}" if c.reason.strip() else ""
        extra = [line for line in (notices.equivalents(esc), notices.stage_route(esc, lookup)) if line]
        moved = "\n".join(
            [
                f"{esc.id} moved to stage {number}: {next_stage.title}\n{notices.heading(esc)}\n"
                f"{name(c.actor, lookup)} moved this to the next stage.{reason}",
                notices.stage_block(esc),
                *extra,
            ]
        )
        messages = [
            Message(to=p, text=moved, escalation_id=esc.id, in_thread=True, data=outgoing.BROADCAST)
            for p in esc.participants()
            if p not in started.new_people
        ]
        messages += outgoing.welcome(esc, started.new_people, lookup)
        messages += started.questions
        messages += outgoing.copy_in(esc, self.ledger.directory)
        return messages

    def _on_Withdraw(self, c: Withdraw) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id)
        if esc.side_of(c.actor) != RAISING:
            raise Refused("Only the side that raised the difference can withdraw it.")
        reason = c.reason.strip()
        if not reason:
            raise InvalidInput({"reason": "Please say why you are withdrawing it."})
        now = self.clock.now()
        self._record(esc, "withdrawn", c.actor, {"reason": reason[:MAX_TEXT]})
        self.store.close_questions(esc.id)
        self.store.replace_reminders(esc.id, [])
        self._save(esc, now)
        by = name(c.actor, self.store.person)
        text = (
            f"Withdrawn: {by} withdrew {esc.id}\n{notices.heading(esc)}\nWithdrawn by {by}: {reason}\n"
            "Nothing more is needed. The record stays available to export."
        )
        return [
            Message(to=p, text=text, escalation_id=esc.id, in_thread=True, data=outgoing.BROADCAST)
            for p in sorted(esc.participants())
        ]

    def _on_SetEarlierDue(self, c: SetEarlierDue) -> list[Message]:
        esc = self._actionable(c.actor, c.escalation_id)
        now = self.clock.now()
        if c.due.tzinfo is None:
            raise InvalidInput({"due": "Give the due time with a time zone."})
        if c.due <= now:
            raise InvalidInput({"due": "The new due time must be in the future."})
        current = esc.stage.due
        if current is not None and c.due >= current:
            raise InvalidInput(
                {"due": f"It's currently due by {when(current)}. You can only bring it forward."}
            )
        basis = "locally agreed" if esc.stage.policy_due is None else "brought forward"
        self._record(
            esc,
            "due_brought_forward",
            c.actor,
            {"due": c.due.isoformat(), "due_basis": basis, "reason": c.reason.strip()[:MAX_SHORT]},
        )
        self.store.replace_reminders(esc.id, reminders.plan_stage(esc, self.calendar, now=now))
        self._save(esc, now)
        reason = f" Why: {c.reason.strip()[:MAX_SHORT]}" if c.reason.strip() else ""
        text = (
            f"Earlier due time: {esc.id} stage {esc.stage.number} is now due by {when(c.due)}\n"
            f"{notices.heading(esc)}\n{name(c.actor, self.store.person)} brought stage "
            f"{esc.stage.number} forward: now due by {when(c.due)}.{reason}"
        )
        return outgoing.to_everyone(esc, text)

    def _on_MarkUrgent(self, c: MarkUrgent) -> list[Message]:
        return mark_urgent(self._actionable(c.actor, c.escalation_id), c, self.ledger, self.calendar)

    def _on_NameManager(self, c: NameManager) -> list[Message]:
        return naming.name_manager(c, self.ledger)

    def _on_NameRoleHolder(self, c: NameRoleHolder) -> list[Message]:
        return naming.name_role_holder(c, self.ledger)

    # -- shared steps ------------------------------------------------------------------------

    def _actionable(self, actor: str, esc_id: str, *, allow_closed: bool = False) -> Escalation:
        esc = self.visible(actor, esc_id)
        if not self._may_act(actor, esc):
            raise Refused(
                f"You can read {esc.id} as {self._reads_as(actor, esc)}, but only the people on it "
                "can act on it."
            )
        if not esc.is_open and not allow_closed:
            raise InvalidInput({"status": f"{esc.id} is already {esc.status}."})
        return esc

    def _may_act(self, actor: str, esc: Escalation) -> bool:
        """On it, or a partnership admin for its policy (who may act at any stage)."""
        person = self.store.person(actor)
        if person is not None and not person.active:
            return False  # a leaver sees nothing more, from the moment they are deactivated
        if actor in esc.participants():
            return True
        return bool(person and person.is_admin_for(esc.policy.id))

    def _may_see(self, actor: str, esc: Escalation) -> bool:
        """Those who may act, and, read-only, the safeguarding leads of the agencies it involves."""
        return self._may_act(actor, esc) or bool(self._lead_for(actor, esc))

    def _lead_for(self, actor: str, esc: Escalation) -> str | None:
        """The agency involved in `esc` for which `actor` is a safeguarding lead, if any."""
        person = self.store.person(actor)
        if person is None or not person.active:
            return None
        leads = set(self.store.lead_agencies(actor, LEAD_ROLES))
        for side in SIDES:
            agency = esc.agency_of(side, self.store.person)
            if agency and agency_key(agency) in leads:
                return agency
        return None

    def _reads_as(self, actor: str, esc: Escalation) -> str:
        person = self.store.person(actor)
        if person is not None and person.is_admin_for(esc.policy.id):
            return "a partnership admin"
        agency = self._lead_for(actor, esc)
        return f"a safeguarding lead for {agency}" if agency else "someone not on it"

    def choose(self, actor: str, words: str) -> str:
        """`digests on|off` or `monthly on|off`: what comes to `actor` unasked; the reply to show."""
        what, _, state = words.strip().lower().partition(" ")
        person = self.store.person(actor)
        if person is None or not person.active or what not in subscriptions.CHOICES:
            raise Refused("Say “digests on” or “digests off”, or “monthly on” or “monthly off”.")
        state = state.strip()
        if state not in (subscriptions.ON, subscriptions.OFF):
            lead = not person.admin
            now = "on" if subscriptions.receives(self.store, person, what, lead=lead) else "off"
            return (
                f"{subscriptions.CHOICES[what].capitalize()}: {now} for you. Say “{what} on” or “{what} off”."
            )
        leads_for = self.store.lead_agencies(actor, LEAD_ROLES)
        return subscriptions.choose(self.store, person, what, state == subscriptions.ON, leads_for=leads_for)

    def find_people(self, text: str, *, limit: int = 15) -> list[Person]:
        """Directory people matching what someone typed into a picker, best first."""
        return search.find_people(self.store, text, limit=limit)

    def add_newcomer(self, actor: str, newcomer: Newcomer) -> Person:
        """Someone `actor` named who is not in the directory: added unconfirmed, and the
        partnership admins asked to check the details, since the bot will email that address."""
        with self.store.transaction():
            known = self.store.person_by(email=newcomer.email.strip()) if newcomer.email.strip() else None
            person = add_newcomer(self.store, newcomer)
            by = self.store.person(actor)
            if known is None and by is not None:
                text = (
                    f"{by.describe()} named someone not in the directory: {person.describe()}, "
                    f"{person.email}. The bot will reach them by email. If these details are right, "
                    "add them to the directory to confirm them; if not, correct them there."
                )
                notes = [Message(to=a.id, text=text, kind=MessageKind.NOTICE) for a in self.store.admins()]
                self.store.enqueue(self._reachable(notes), now=self.clock.now())
        return person

    def deactivate(self, person_id: str) -> list[Message]:
        """A leaver: they can act no more; each open escalation they handled asks who takes over."""
        with self.store.transaction():
            messages = self._reachable(leavers.deactivate(self.ledger, person_id))
            self.store.enqueue(messages, now=self.clock.now())
        return messages

    def _reachable(self, messages: list[Message]) -> list[Message]:
        """Nothing goes to a leaver: their side's new person is told instead."""
        inactive: dict[str, bool] = {}
        for m in messages:
            if m.to not in inactive:
                person = self.store.person(m.to)
                inactive[m.to] = bool(person and not person.active)
        return [m for m in messages if not inactive[m.to]]

    def _record(self, esc: Escalation, kind: str, actor: str, data: dict[str, Any]) -> None:
        self.ledger.record(esc, kind, actor, data)

    def _save(self, esc: Escalation, now: datetime) -> None:
        self.store.save_escalation(esc.row(now, self.store.person))

    def _enter_stage(
        self, esc: Escalation, number: int, *, actor: str, target_due: datetime | None, reason: str = ""
    ) -> StageStart:
        return enter_stage(
            esc,
            number,
            actor=actor,
            target_due=target_due,
            ledger=self.ledger,
            calendar=self.calendar,
            reason=reason,
        )
