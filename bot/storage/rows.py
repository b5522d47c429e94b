"""The values storage hands the core, and how a stored row becomes one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.messages import Message
from bot.people import Person, Role


def iso(when: datetime) -> str:
    """A stored time: UTC, to the second, in ISO form (so text order is time order)."""
    if when.tzinfo is None:
        raise ValueError("storage keeps aware times only")
    return when.astimezone(UTC).isoformat(timespec="seconds")


def time_or_none(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class EscalationRow:
    """The list view of an escalation: enough to list and find, not the record itself."""

    id: str
    policy_id: str
    case_reference: str
    status: str
    stage: int
    due: datetime | None
    opened_at: datetime
    updated_at: datetime
    participants: tuple[str, ...]
    # What an overdue list and a report need without reading each escalation's history.
    category: str = ""
    urgent: bool = False
    immediate_risk: bool = False
    highest_stage: int = 1
    ended_at: datetime | None = None
    outcome_kind: str | None = None
    raiser_agency: str | None = None
    counterpart_agency: str | None = None


@dataclass(frozen=True)
class ListIndex:
    """What the lists' index holds for one escalation: who is on it, and its agency keys by side."""

    people: frozenset[str]
    agencies: dict[str, str]


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    escalation_id: str
    at: datetime
    kind: str
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ReminderRow:
    id: int
    escalation_id: str
    stage: int
    kind: str
    due_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Question:
    """Something the bot asked a person (e.g. who their line manager is) for an escalation."""

    id: int
    escalation_id: str
    person_id: str
    kind: str
    data: dict[str, Any]
    status: str


@dataclass(frozen=True)
class OutboxItem:
    id: int
    message: Message
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class SlackInstallation:
    """The bot installed in one Slack workspace, with the token to act there."""

    team_id: str
    bot_token: str = field(repr=False)
    team_name: str | None = None
    enterprise_id: str | None = None
    app_id: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: str | None = None
    installer: str | None = None
    installed_at: datetime | None = None


@dataclass(frozen=True)
class PlatformTrouble:
    """Messages to `platform` have failed since `failing_since`, with no success since."""

    platform: str
    failing_since: datetime
    alerted_at: datetime | None = None
    last_error: str = ""


@dataclass(frozen=True)
class InboxItem:
    id: int
    platform: str
    event_id: str
    body: str
    attempts: int


def reminder(
    reminder_id: int, escalation_id: str, stage: int, kind: str, due_at: str, data: str
) -> ReminderRow:
    return ReminderRow(
        reminder_id, escalation_id, stage, kind, datetime.fromisoformat(due_at), json.loads(data)
    )


def question(row: dict[str, Any]) -> Question:
    return Question(
        id=row["id"],
        escalation_id=row["escalation_id"],
        person_id=row["person_id"],
        kind=row["kind"],
        data=json.loads(row["data"]),
        status=row["status"],
    )


INSTALLATION_COLUMNS = (
    "team_id, bot_token, team_name, enterprise_id, app_id, bot_id, bot_user_id, bot_scopes,"
    " installer, installed_at"
)


def installation(row: tuple[Any, ...]) -> SlackInstallation:
    *values, installed_at = row
    return SlackInstallation(*values, installed_at=time_or_none(installed_at))


def person(row: dict[str, Any]) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        agency=row["agency"],
        role=row["role"],
        manager_id=row["manager_id"],
        email=row["email"],
        slack_id=row["slack_id"],
        teams_id=row["teams_id"],
        admin=bool(row["admin"]),
        admin_policies=tuple(p for p in (row.get("admin_policies") or "").split(";") if p),
        roles=tuple(Role(r) for r in sorted((row.get("roles") or "").split(",")) if r),
        slack_team=row.get("slack_team"),
        teams_tenant=row.get("teams_tenant"),
        active=bool(row.get("active", 1)),
        confirmed=bool(row.get("confirmed", 1)),
    )


def escalation_row(row: dict[str, Any]) -> EscalationRow:
    return EscalationRow(
        id=row["id"],
        policy_id=row["policy_id"],
        case_reference=row["case_reference"],
        status=row["status"],
        stage=row["stage"],
        due=time_or_none(row["due"]),
        opened_at=datetime.fromisoformat(row["opened_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        participants=tuple(json.loads(row["participants"])),
        category=row.get("category") or "",
        urgent=bool(row.get("urgent")),
        immediate_risk=bool(row.get("immediate_risk")),
        highest_stage=row.get("highest_stage") or row["stage"],
        ended_at=time_or_none(row.get("ended_at")),
        outcome_kind=row.get("outcome_kind"),
        raiser_agency=row.get("raiser_agency"),
        counterpart_agency=row.get("counterpart_agency"),
    )
