"""What crosses the core boundary inwards: commands from a person, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.people import Newcomer


@dataclass(frozen=True)
class RaiseEscalation:
    """Raise a professional difference. `immediate_risk` answers the gate question first."""

    actor: str
    policy_id: str
    case_reference: str
    counterpart: str
    category: str
    issue: str
    risk: str
    outcome_wanted: str
    immediate_risk: bool = False
    urgent: bool = False
    target_due: datetime | None = None
    platform: str = "console"
    disagreement_on: date | None = None  # when the disagreement arose or the decision was received
    # The platform's id for this form submission: the same one submitted again raises nothing more.
    submission: str | None = None
    # Someone not in the directory, named instead of `counterpart`: added (unconfirmed) only if
    # the rest of the raise is valid, in the same transaction.
    newcomer: Newcomer | None = None


@dataclass(frozen=True)
class AddNote:
    """Record one entry of the case record (a threaded reply, or the note form)."""

    actor: str
    escalation_id: str
    discussed: str
    form: str = "Message in the case thread"
    involved: str = ""
    outcome: str = ""
    platform_ref: str | None = None


@dataclass(frozen=True)
class DetailNote:
    """What a note's author adds after it was recorded: how it happened, who, and the outcome."""

    actor: str
    escalation_id: str
    note: int
    form: str | None = None
    involved: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class CorrectNote:
    """An edited (new text) or deleted (None) threaded reply: recorded as a correction."""

    actor: str
    escalation_id: str
    platform_ref: str
    text: str | None


@dataclass(frozen=True)
class OwnedAction:
    """An agreed action with the person who will do it and the day it is due."""

    what: str
    owner: str
    by: date


@dataclass(frozen=True)
class Resolve:
    actor: str
    escalation_id: str
    outcome: str
    agreed_actions: tuple[str, ...] = ()
    owned: tuple[OwnedAction, ...] = ()


@dataclass(frozen=True)
class ActionDone:
    """The owner of an agreed action says it is done."""

    actor: str
    escalation_id: str
    index: int


@dataclass(frozen=True)
class Reopen:
    """The raising side reopens a resolved difference, e.g. when an agreed action was not done."""

    actor: str
    escalation_id: str
    reason: str


@dataclass(frozen=True)
class AnswerProposal:
    """The raising side's answer to the other side's proposal that the difference is resolved."""

    actor: str
    escalation_id: str
    agree: bool
    reason: str = ""


@dataclass(frozen=True)
class MilestoneDone:
    """A step a policy sets (e.g. confirm the outcome in writing) was done, by the person it names."""

    actor: str
    escalation_id: str
    milestone: str


@dataclass(frozen=True)
class EscalateStage:
    actor: str
    escalation_id: str
    reason: str = ""
    target_due: datetime | None = None


@dataclass(frozen=True)
class Withdraw:
    actor: str
    escalation_id: str
    reason: str


@dataclass(frozen=True)
class SetEarlierDue:
    """Bring the current stage's due time forward ("a timescale that protects the child")."""

    actor: str
    escalation_id: str
    due: datetime
    reason: str


@dataclass(frozen=True)
class MarkUrgent:
    """A participant judges that the child may now be at increased risk: the difference is urgent."""

    actor: str
    escalation_id: str
    reason: str


@dataclass(frozen=True)
class NameManager:
    """`actor` names `manager` as the line manager of `person` (usually themselves)."""

    actor: str
    person: str
    manager: str


@dataclass(frozen=True)
class NameRoleHolder:
    """`actor` answers question `question_id` ("who is the named lead for …?") with `person`."""

    actor: str
    question_id: int
    person: str


Command = (
    RaiseEscalation
    | AddNote
    | DetailNote
    | CorrectNote
    | Resolve
    | AnswerProposal
    | ActionDone
    | Reopen
    | MilestoneDone
    | EscalateStage
    | Withdraw
    | SetEarlierDue
    | MarkUrgent
    | NameManager
    | NameRoleHolder
)
