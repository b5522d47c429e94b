"""What crosses the core boundary outwards: platform-neutral messages with optional actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class ActionKind(Enum):
    """One-tap actions a message can offer; adapters render them as buttons or card actions."""

    ADD_NOTE = "add_note"
    RESOLVE = "resolve"
    AGREE_RESOLVED = "agree_resolved"
    NOT_AGREED = "not_agreed"
    ESCALATE = "escalate"
    WITHDRAW = "withdraw"
    SET_EARLIER_DUE = "set_earlier_due"
    MARK_URGENT = "mark_urgent"
    NAME_MANAGER = "name_manager"
    NAME_ROLE_HOLDER = "name_role_holder"
    SHOW = "show"
    # How a note was made, one tap each, offered when a reply in the case thread is recorded.
    NOTE_PHONE = "note_phone"
    NOTE_MEETING = "note_meeting"
    NOTE_EMAIL = "note_email"
    NOTE_MESSAGE = "note_message"
    NOTE_DETAILS = "note_details"
    MILESTONE_DONE = "milestone_done"
    ACTION_DONE = "action_done"
    REOPEN = "reopen"


ACTION_LABELS = {
    ActionKind.ADD_NOTE: "Add note",
    ActionKind.RESOLVE: "Resolved",
    ActionKind.AGREE_RESOLVED: "Agree",
    ActionKind.NOT_AGREED: "Not agreed",
    ActionKind.ESCALATE: "Escalate to next stage",
    ActionKind.WITHDRAW: "Withdraw",
    ActionKind.SET_EARLIER_DUE: "Set an earlier due time",
    ActionKind.MARK_URGENT: "Mark urgent",
    ActionKind.NAME_MANAGER: "Name them",
    ActionKind.NAME_ROLE_HOLDER: "Name them",
    ActionKind.SHOW: "Show the case",
    ActionKind.NOTE_PHONE: "Phone call",
    ActionKind.NOTE_MEETING: "Meeting",
    ActionKind.NOTE_EMAIL: "Email",
    ActionKind.NOTE_MESSAGE: "Just this message",
    ActionKind.NOTE_DETAILS: "Add who and outcome",
    ActionKind.MILESTONE_DONE: "Done",
    ActionKind.ACTION_DONE: "Done",
    ActionKind.REOPEN: "Reopen",
}
# The form of communication each one-tap answer records.
NOTE_FORMS = {
    ActionKind.NOTE_PHONE: "Phone call",
    ActionKind.NOTE_MEETING: "Meeting",
    ActionKind.NOTE_EMAIL: "Email",
    ActionKind.NOTE_MESSAGE: "Message in the case thread",
}


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    escalation_id: str
    ref: str | None = None  # what the action answers, e.g. a question's id

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.kind]


class MessageKind(Enum):
    CASE = "case"  # the escalation's case message: adapters thread notes under it
    NOTICE = "notice"
    REMINDER = "reminder"
    QUESTION = "question"
    REPLY = "reply"  # the direct answer to the person who acted


@dataclass(frozen=True)
class Message:
    """One message to one person. `in_thread` asks the adapter to post it in the case thread too."""

    to: str
    text: str
    kind: MessageKind = MessageKind.NOTICE
    escalation_id: str | None = None
    actions: tuple[Action, ...] = ()
    in_thread: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "text": self.text,
            "kind": self.kind.value,
            "escalation_id": self.escalation_id,
            "actions": [[a.kind.value, a.escalation_id, a.ref] for a in self.actions],
            "in_thread": self.in_thread,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            to=data["to"],
            text=data["text"],
            kind=MessageKind(data["kind"]),
            escalation_id=data.get("escalation_id"),
            actions=tuple(Action(ActionKind(a[0]), a[1], *a[2:]) for a in data.get("actions", ())),
            in_thread=bool(data.get("in_thread")),
            data=dict(data.get("data") or {}),
        )


def note_actions(escalation_id: str, note_seq: int) -> tuple[Action, ...]:
    """The one-tap answers to "how did this conversation happen?", and the details form."""
    kinds = [*NOTE_FORMS, ActionKind.NOTE_DETAILS]
    return tuple(Action(k, escalation_id, str(note_seq)) for k in kinds)


def case_actions(
    escalation_id: str, *, final_stage: bool, raiser: bool, may_mark_urgent: bool = False
) -> tuple[Action, ...]:
    """The buttons a participant gets on a case message."""
    kinds = [ActionKind.ADD_NOTE, ActionKind.RESOLVE]
    if not final_stage:
        kinds.append(ActionKind.ESCALATE)
    if raiser:
        kinds.append(ActionKind.WITHDRAW)
    kinds.append(ActionKind.SET_EARLIER_DUE)
    if may_mark_urgent:
        kinds.append(ActionKind.MARK_URGENT)
    return tuple(Action(k, escalation_id) for k in kinds)
