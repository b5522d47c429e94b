"""The console adapter: a local demo of the whole journey on a throwaway database.

Each line typed is a message from the current person; /wait moves a manual clock on so reminders
and deadlines can be seen without waiting days.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from adapters.system_clock import SystemClock
from bot.calendar import LONDON
from bot.clock import ManualClock
from bot.commands import (
    AddNote,
    AnswerProposal,
    Command,
    EscalateStage,
    MarkUrgent,
    NameManager,
    NameRoleHolder,
    RaiseEscalation,
    Reopen,
    Resolve,
    SetEarlierDue,
    Withdraw,
)
from bot.core import EscalationBot, case_reference_problem
from bot.errors import InvalidInput, Refused
from bot.messages import Message, MessageKind
from bot.notices import timeline_preview
from bot.outbox import deliver
from bot.people import parse_directory_csv
from bot.policy import PolicyLibrary
from bot.policy.text import describe_policy
from bot.storage import Storage
from bot.timeline import plan_timeline
from bot.wording import MAX_TEXT, when, who

# Package data (a link to examples/directory.csv, which the README shows admins), so the demo works
# from an installed wheel as well as from the source tree.
EXAMPLE_DIRECTORY = Path(__file__).resolve().parent / "examples" / "directory.csv"
DEFAULT_POLICY = "camden"
AUTO_START = datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
SAMPLE_COUNT = 400  # sample differences a kept demo database holds, across five policies
ESCALATION_ID = re.compile(r"^E-\d{4,}$", re.IGNORECASE)
WAIT = re.compile(r"^(\d+)\s*([wdhm])$")
WAIT_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}

HELP = """Commands (you act as one person at a time; plain text is a reply in the case thread):
  /as PERSON            act as someone else (see /people)
  /people               the example directory
  /raise                raise a professional difference, step by step
  /note [ID] TEXT       add a note to the case record
  /resolve [ID] OUTCOME [; action; action]   record the outcome and agreed actions (from the
                        other side, this asks the raising side to agree)
  /agree [ID]           agree the other side's proposal that it is resolved
  /disagree [ID] REASON do not agree: it stays open, with your reason recorded
  /reopen [ID] REASON   reopen a resolved difference (e.g. an agreed action was not done)
  /escalate [ID] [WHY]  move to the next stage (managers are told)
  /withdraw [ID] WHY    withdraw the difference (raising side only)
  /due [ID] DATE-TIME   bring the due time forward, e.g. /due 2026-12-03T12:00
  /urgent [ID] WHY      mark it urgent: the child may now be at increased risk
  /manager PERSON       name your line manager when the bot asks
  /name PERSON          answer the bot's question "who is the named lead (or head of service) for …?"
  /wait 3d | 4h | 30m | 1w   move time on: reminders go out as they fall due
  /list                 your escalations
  /show [ID]            the summary and history
  /export [ID]          the case record for the child's file
  /policy [ID]          the policy's stages, timescales and emergency numbers
  /now                  the demo clock
  /help                 this list
End of input (Ctrl-D) or /quit ends the demo."""


@dataclass
class ConsoleDemo:
    """Drives the core from text lines and prints what each person would receive."""

    bot: EscalationBot
    clock: ManualClock
    out: TextIO
    me: str = "alex"
    default_policy: str = DEFAULT_POLICY
    current: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> Storage:
        return self.bot.store

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    # -- delivery ----------------------------------------------------------------------------

    def deliver(self) -> None:
        deliver(self.store, self.clock.now(), self._show)

    def _show(self, message: Message) -> None:
        label = {
            MessageKind.CASE: "case message",
            MessageKind.REMINDER: "reminder",
            MessageKind.QUESTION: "question",
            MessageKind.REPLY: "reply",
            MessageKind.NOTICE: "in the case thread" if message.in_thread else "message",
        }[message.kind]
        if message.escalation_id and message.kind in {MessageKind.CASE, MessageKind.QUESTION}:
            self.current[message.to] = message.escalation_id
        self.say(f"  ┌─ to {who(message.to, self.store.person)} · {label}")
        for line in message.text.splitlines():
            self.say(f"  │ {line}" if line else "  │")
        if message.actions:
            self.say("  │ " + "  ".join(f"[{a.label}]" for a in message.actions))
        self.say("  └─")

    # -- the loop ----------------------------------------------------------------------------

    def run(self, read: Callable[[str], str | None]) -> int:
        self.say("Escalation bot demo: resolving professional differences in safeguarding.")
        self.say(f"Demo clock: {when(self.clock.now())}. You are {who(self.me, self.store.person)}.")
        self.say("Type /help for commands, /raise to start.")
        while True:
            line = read(f"[{self.me}] > ")
            if line is None:
                self.say("\nEnd of demo. The throwaway database has been removed.")
                return 0
            line = line.strip()
            if not line:
                continue
            if line in {"/quit", "/exit"}:
                self.say("End of demo.")
                return 0
            try:
                self.dispatch(line, read)
            except Refused as exc:
                self.say(f"  ! {exc}")
            except InvalidInput as exc:
                for message in exc.errors.values():
                    self.say(f"  ! {message}")
            self.deliver()

    def dispatch(self, line: str, read: Callable[[str], str | None]) -> None:
        if not line.startswith("/"):
            self._plain_note(line)
            return
        name, _, rest = line[1:].partition(" ")
        handler = getattr(self, f"cmd_{name.lower()}", None)
        if handler is None:
            self.say(f"  ! Unknown command /{name}. Type /help for the list.")
            return
        handler(rest.strip(), read)

    def _plain_note(self, line: str) -> None:
        """A plain line is a reply in the case thread you are in: only an open escalation of
        yours, never a stray line onto another or a closed case."""
        esc_id = self.current.get(self.me)
        esc = self.bot.load(esc_id) if esc_id else None
        if esc is None or self.me not in esc.participants():
            self.say(
                "  ! Not recorded: you are not in a case thread. Use /note E-0001 your note (see /list)."
            )
            return
        if not esc.is_open:
            self.say(
                f"  ! Not recorded: {esc.id} is {esc.status}. To add to its record anyway, "
                f"use /note {esc.id} your note."
            )
            return
        self.bot.handle(AddNote(actor=self.me, escalation_id=esc.id, discussed=line))

    def _split_id(self, rest: str) -> tuple[str | None, str]:
        first, _, tail = rest.partition(" ")
        if ESCALATION_ID.match(first):
            return first.upper(), tail.strip()
        return self.current.get(self.me), rest

    def _act(self, build: Callable[[str], Command], rest: str | None) -> None:
        esc_id, _ = self._split_id(rest or "")
        if esc_id is None:
            self.say("  ! Which escalation? Give its id, e.g. E-0001 (see /list).")
            return
        self.current[self.me] = esc_id
        self.bot.handle(build(esc_id))

    # -- commands ----------------------------------------------------------------------------

    def cmd_help(self, rest: str, read) -> None:
        self.say(HELP)

    def cmd_people(self, rest: str, read) -> None:
        for person in self.store.people():
            admin = " · partnership admin" if person.admin else ""
            manager = f" · manager: {person.manager_id}" if person.manager_id else ""
            roles = "".join(f" · {role.label}" for role in person.roles)
            self.say(f"  {person.id:<6} {person.describe()}{manager}{roles}{admin}")

    def cmd_as(self, rest: str, read) -> None:
        person = self.store.person(rest.strip().lower())
        if person is None:
            self.say(f"  ! No one called {rest!r} in the directory. See /people.")
            return
        self.me = person.id
        self.say(f"  You are now {person.describe()}.")

    def cmd_now(self, rest: str, read) -> None:
        self.say(f"  Demo clock: {when(self.clock.now())}")

    def cmd_note(self, rest: str, read) -> None:
        esc_id, text = self._split_id(rest)
        self._act(lambda e: AddNote(actor=self.me, escalation_id=e, discussed=text), esc_id or "")

    def cmd_resolve(self, rest: str, read) -> None:
        esc_id, text = self._split_id(rest)
        outcome, *actions = [part.strip() for part in text.split(";")]
        self._act(
            lambda e: Resolve(actor=self.me, escalation_id=e, outcome=outcome, agreed_actions=tuple(actions)),
            esc_id or "",
        )

    def cmd_escalate(self, rest: str, read) -> None:
        esc_id, reason = self._split_id(rest)
        target: datetime | None = None
        esc = self.bot.load(esc_id) if esc_id else None
        if esc and esc.is_open and not esc.at_final_stage:
            nxt = esc.policy.stage(esc.stage.number + 1)
            if not nxt.timescale(urgent=esc.urgent).given:
                target = self._ask_target(read, esc.policy.short_name, nxt.number)
                if target is None:
                    return
        self._act(
            lambda e: EscalateStage(actor=self.me, escalation_id=e, reason=reason, target_due=target),
            esc_id or "",
        )

    def cmd_agree(self, rest: str, read) -> None:
        esc_id, _ = self._split_id(rest)
        self._act(lambda e: AnswerProposal(actor=self.me, escalation_id=e, agree=True), esc_id or "")

    def cmd_disagree(self, rest: str, read) -> None:
        esc_id, reason = self._split_id(rest)
        self._act(
            lambda e: AnswerProposal(actor=self.me, escalation_id=e, agree=False, reason=reason), esc_id or ""
        )

    def cmd_reopen(self, rest: str, read) -> None:
        esc_id, reason = self._split_id(rest)
        self._act(lambda e: Reopen(actor=self.me, escalation_id=e, reason=reason), esc_id or "")

    def cmd_withdraw(self, rest: str, read) -> None:
        esc_id, reason = self._split_id(rest)
        self._act(lambda e: Withdraw(actor=self.me, escalation_id=e, reason=reason), esc_id or "")

    def cmd_due(self, rest: str, read) -> None:
        esc_id, text = self._split_id(rest)
        moment = _parse_time(text)
        if moment is None:
            self.say("  ! Give a date and time, e.g. /due 2026-12-03T12:00")
            return
        self._act(
            lambda e: SetEarlierDue(actor=self.me, escalation_id=e, due=moment, reason=""),
            esc_id or "",
        )

    def cmd_urgent(self, rest: str, read) -> None:
        esc_id, reason = self._split_id(rest)
        self._act(lambda e: MarkUrgent(actor=self.me, escalation_id=e, reason=reason), esc_id or "")

    def cmd_manager(self, rest: str, read) -> None:
        self.bot.handle(NameManager(actor=self.me, person=self.me, manager=rest.strip().lower()))

    def cmd_name(self, rest: str, read) -> None:
        asked = self.store.open_questions(person_id=self.me, kind="role")
        if not asked:
            self.say("  ! The bot hasn't asked you who holds a role. (/manager names your line manager.)")
            return
        # The question about the escalation in hand, else the latest one asked.
        current = self.current.get(self.me)
        question = next((q for q in reversed(asked) if q.escalation_id == current), asked[-1])
        self.bot.handle(NameRoleHolder(actor=self.me, question_id=question.id, person=rest.strip().lower()))

    def cmd_wait(self, rest: str, read) -> None:
        match = WAIT.match(rest.strip().lower())
        if not match:
            self.say("  ! Say how long, e.g. /wait 3d, /wait 4h, /wait 30m or /wait 1w.")
            return
        target = self.clock.now() + int(match.group(1)) * WAIT_UNITS[match.group(2)]
        while (wake := self.bot.next_wakeup()) is not None and wake <= target:
            self.clock.set(max(wake, self.clock.now()))
            self.say(f"  ⏰ {when(self.clock.now())}")
            self.bot.run_due()
            self.deliver()
        self.clock.set(target)
        self.say(f"  Demo clock: {when(self.clock.now())}")

    def cmd_list(self, rest: str, read) -> None:
        self.say(_indent(self.bot.list_text(self.me, rest, size=50, command="/list")))

    def cmd_show(self, rest: str, read) -> None:
        esc_id, _ = self._split_id(rest)
        if esc_id:
            self.say(_indent(self.bot.show(self.me, esc_id)))

    def cmd_export(self, rest: str, read) -> None:
        esc_id, _ = self._split_id(rest)
        if esc_id:
            self.say(_indent(self.bot.export(self.me, esc_id)))

    def cmd_policy(self, rest: str, read) -> None:
        try:
            policy = self.bot.policies.get(rest.strip() or self.default_policy)
        except KeyError as exc:
            self.say(f"  ! {exc.args[0]}")
            return
        self.say(_indent(describe_policy(policy)))

    # -- the guided /raise -------------------------------------------------------------------

    def cmd_raise(self, rest: str, read) -> None:
        ask = _Asker(read, self.say)
        risk_now = ask.yes_no("Is the child at immediate risk of harm right now? (yes/no)")
        if risk_now is None:
            return
        if risk_now:
            # The chosen policy's own numbers follow as soon as the policy is known.
            self.say("  If a child is in immediate danger, call 999 now.")
            self.say("  Tell your designated safeguarding lead straight away.")
            self.say("  We'll still record the difference, as urgent. Carry on when you can.")
        ids = self.bot.policies.ids()
        # Each answer is checked as it is given and asked again on the spot: nothing typed is lost
        # to a refusal at the end.
        policy_id = ask.checked(
            f"Which policy? ({', '.join(ids)}) [{self.default_policy}]",
            lambda a: None if a in ids else f"Choose one of: {', '.join(ids)}.",
            default=self.default_policy,
        )
        if policy_id is None:
            return
        policy = self.bot.policies.policies[policy_id]
        if risk_now:
            self.say(_indent(self.bot.emergency_guidance(policy.id)))
        case_reference = ask.checked(
            "The agency's case reference (never the child's name)", case_reference_problem
        )
        if case_reference is None:
            return
        others = {p.id: p for p in self.store.people() if p.id != self.me and not p.admin}
        self.say("  The other professional: " + ", ".join(f"{p.id} ({p.name})" for p in others.values()))
        counterpart = ask.checked(
            "Who is it? (id)",
            lambda a: None if a.lower() in others else "That isn't one of the ids above.",
        )
        if counterpart is None:
            return
        for n, category in enumerate(policy.categories, start=1):
            self.say(f"  {n}. {category.label}")
        last = len(policy.categories) + 1
        self.say(f"  {last}. Other")
        choice = ask.checked(
            "What is it about? (number)",
            lambda a: None if a.isdigit() and 1 <= int(a) <= last else f"Give a number from 1 to {last}.",
        )
        if choice is None:
            return
        answers = []
        for prompt in ("The issue, in your words", "The risk to the child", "The outcome you want"):
            answer = ask.checked(prompt, _fits)
            if answer is None:
                return
            answers.append(answer)
        issue, risk, outcome = answers
        category = _category_choice(policy, choice)
        urgent = bool(risk_now)
        if not urgent and policy.urgent_when:
            answer = ask.yes_no(f"Is it urgent? The policy says: {policy.urgent_when}. (yes/no)")
            if answer is None:
                return
            urgent = answer
        target = None
        if not policy.stage(1).timescale(urgent=urgent).given:
            target = self._ask_target(read, policy.short_name, 1)
            if target is None:
                return
        arose = None
        if any(m.after.value == "disagreement" for m in policy.stage(1).milestones):
            today = self.clock.now().astimezone(LONDON).date()
            answer = ask.checked(
                "When did the disagreement arise, or the decision reach you? (YYYY-MM-DD)",
                lambda a: _past_date_problem(a, today),
            )
            if answer is None:
                return
            arose = date.fromisoformat(answer)
        self._preview(policy, urgent)
        self.bot.handle(
            RaiseEscalation(
                actor=self.me,
                policy_id=policy.id,
                case_reference=case_reference or "",
                counterpart=(counterpart or "").lower(),
                category=category,
                issue=issue or "",
                risk=risk or "",
                outcome_wanted=outcome or "",
                immediate_risk=bool(risk_now),
                urgent=urgent,
                target_due=target,
                disagreement_on=arose,
            )
        )

    def _preview(self, policy, urgent: bool) -> None:
        stages = plan_timeline(policy, self.clock.now(), urgent=urgent, calendar=self.bot.calendar)
        self.say(f"  {timeline_preview(stages)}")

    def _ask_target(self, read, policy_name: str, number: int) -> datetime | None:
        suggested = self.bot.suggested_target(self.clock.now())
        self.say(
            f"  The {policy_name} policy sets no timescale for stage {number}. Agree a target "
            f"date with the other side. Suggested: {when(suggested)}."
        )
        while True:
            text = read(f"Target date and time [{suggested.strftime('%Y-%m-%dT%H:%M')}] > ")
            if text is None:
                return None
            if not text.strip():
                return suggested
            moment = _parse_time(text)
            if moment is not None:
                return moment
            self.say("  ! Use a date and time like 2026-12-08T17:00.")


@dataclass
class _Asker:
    read: Callable[[str], str | None]
    say: Callable[[str], None]

    def text(self, prompt: str, default: str | None = None) -> str | None:
        while True:
            answer = self.read(f"{prompt} > ")
            if answer is None:
                return None
            answer = answer.strip()
            if answer:
                return answer
            if default is not None:
                return default
            self.say("  ! Please answer, or press Ctrl-D to stop.")

    def checked(
        self, prompt: str, problem: Callable[[str], str | None], default: str | None = None, tries: int = 5
    ) -> str | None:
        """An answer that passes `problem`, asked again (saying why) until it does."""
        for _ in range(tries):
            answer = self.text(prompt, default)
            if answer is None:
                return None
            why = problem(answer)
            if why is None:
                return answer
            self.say(f"  ! {why}")
        self.say("  ! Stopped after several tries. Start again with /raise when ready.")
        return None

    def yes_no(self, prompt: str) -> bool | None:
        while True:
            answer = self.text(prompt)
            if answer is None:
                return None
            if answer.lower() in {"y", "yes"}:
                return True
            if answer.lower() in {"n", "no"}:
                return False
            self.say("  ! Please answer yes or no.")


def _fits(answer: str) -> str | None:
    return None if len(answer) <= MAX_TEXT else f"Please keep it under {MAX_TEXT} characters."


def _past_date_problem(answer: str, today: date) -> str | None:
    try:
        day = date.fromisoformat(answer.strip())
    except ValueError:
        return "That isn't a date like 2026-11-30."
    return "That date is in the future." if day > today else None


def _category_choice(policy, choice: str) -> str:
    if choice.isdigit() and 1 <= int(choice) <= len(policy.categories):
        return policy.categories[int(choice) - 1].id
    return "other"


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


AUTO_SCRIPT = (
    "/as alex",
    "/raise",
    "no",
    "camden",
    "CIN-20931",
    "sam",
    "1",
    "Health visiting plans to close the case next week and step down to universal services.",
    "Baby is 8 months old; two missed health appointments and a recent injury explained late.",
    "Keep health visiting open until the child in need review on 15 December.",
    "no",
    "/as sam",
    "Phoned Alex on 1 Dec. I think universal services are enough; the family is engaging.",
    "/as alex",
    "We spoke by phone; we still disagree about the risk. Asked Sam to share the visit notes.",
    "/wait 7d",
    "/wait 8h",
    # Overnight nothing is sent (quiet hours); at 9am the business manager's digest, at 10am the
    # first overdue chase, each saying what its reader can do.
    "/wait 16h",
    "/escalate No agreement at stage 1; the review is close.",
    "/as priya",
    "Spoke to Jo Bennett. We agreed a joint visit before the review.",
    # The challenged side proposes; the raising side agrees.
    "/resolve Health visiting stays open until the review on 15 December; Joint visit by the "
    "health visitor and social worker by Fri 11 Dec; Health visitor shares visit notes weekly",
    "/as jo",
    "/agree",
    "/export",
)


def run_demo(
    *,
    auto: bool,
    policies_dir: Path | None = None,
    default_policy: str = DEFAULT_POLICY,
    out: TextIO | None = None,
    lines: Iterator[str] | None = None,
    keep: Path | None = None,
) -> int:
    """Run the console walkthrough on a throwaway database; exit status 0 at end of input. With
    `keep`, a year of sample history is added and the database is kept there."""
    out = out or sys.stdout
    workdir = Path(tempfile.mkdtemp(prefix="escalation-demo-"))
    try:
        store = Storage.open(f"sqlite:///{workdir / 'demo.db'}")
        store.upsert_people(
            parse_directory_csv(EXAMPLE_DIRECTORY.read_text(encoding="utf-8"), source="directory.csv")
        )
        start = AUTO_START if auto else SystemClock().now().astimezone(LONDON).replace(microsecond=0)
        clock = ManualClock(start)
        bot = EscalationBot(store=store, policies=PolicyLibrary.load(policies_dir), clock=clock)
        demo = ConsoleDemo(bot=bot, clock=clock, out=out, default_policy=default_policy)
        if auto or lines is not None:
            script = iter(lines if lines is not None else AUTO_SCRIPT)

            def read(prompt: str) -> str | None:
                line = next(script, None)
                if line is not None:
                    print(f"{prompt}{line}", file=out)
                return line

        else:

            def read(prompt: str) -> str | None:
                try:
                    return input(prompt)
                except EOFError:
                    return None

        status = demo.run(read)
        if keep is not None:
            _keep(bot, clock, keep, out)
        store.close()
        return status
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _keep(bot: EscalationBot, clock: ManualClock, path: Path, out: TextIO) -> None:
    """Add the sample history (the year before the walkthrough) and copy the database to `path`."""
    from adapters.sample_history import play_history, sample_people

    bot.store.upsert_people(sample_people())
    first = AUTO_START - timedelta(days=365)
    played = play_history(
        bot,
        clock,
        count=SAMPLE_COUNT,
        first=first,
        last=AUTO_START - timedelta(days=21),
        finish_by=AUTO_START - timedelta(days=1),
    )
    target = sqlite3.connect(path)
    try:
        bot.store.db.conn.backup(target)
    finally:
        target.close()
    print(
        f"\nKept a copy of the database in {path}, with {len(played)} sample differences raised from "
        f"{first:%-d %b %Y} to {AUTO_START - timedelta(days=21):%-d %b %Y} under five policies. Try:\n"
        f"  escalation-bot --database-url sqlite:///{path} list\n"
        f"  escalation-bot --database-url sqlite:///{path} export E-0001\n"
        f"  escalation-bot --database-url sqlite:///{path} report --policy camden "
        f"--from {first:%Y-%m-%d} --to {AUTO_START:%Y-%m-%d} --out report.html",
        file=out,
    )
