"""A person's data on request: everything the bot holds about them (subject access), and erasing
them (for the data protection officer), leaving the records other people are entitled to.

The rule for erasure. The escalation histories they were part of are the record of a professional
difference about a child, shared by the other side, the managers and the partnership, and copied
to the child's file; they stay, under the retention rule like any other. What goes is the person:

- their name becomes their role, their id a new neutral one (`erased-0001`), in the directory and
  in every history, so the record still says what was done and in what capacity ("Social Worker,
  Camden Children's Services"), never by whom;
- whatever the bot held to reach them or act for them goes: email, Slack and Teams ids, their
  workspace and tenant, addresses, settings, safeguarding roles, admin rights, and the copies of
  messages sent to them; they can no longer use the bot;
- notes stay as written, theirs (attributed to the role) and others'. Where someone else's words
  name them, the words are not rewritten (they are that person's record); the erasure lists each
  such note, so the officer can decide whether to redact it.

Each erasure is logged (when, the new id, the rule) and each history gets an entry saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage import Storage, StoredEvent

ERASURE_RULE = "erasure on request (the data protection officer)"
TEXT_FIELDS = ("discussed", "involved", "outcome", "issue", "risk", "outcome_wanted", "reason", "text")


class NoSuchPerson(LookupError):
    """No one with that id in the directory."""


@dataclass(frozen=True)
class Mention:
    """Someone else's words in a record that name the person."""

    escalation_id: str
    at: datetime
    kind: str
    author: str


@dataclass(frozen=True)
class Erasure:
    new_id: str
    escalations: tuple[str, ...]
    mentions: tuple[Mention, ...]


def _names(event: StoredEvent, person_id: str) -> bool:
    return event.actor == person_id or person_id in _strings(event.data)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    return value


def subject_access(store: Storage, person_id: str, *, now: datetime) -> dict[str, Any]:
    """Everything the bot holds about `person_id`, as one JSON-ready document."""
    person = store.person(person_id)
    if person is None:
        raise NoSuchPerson(person_id)
    escalations = []
    for esc_id in store.escalations_of_person(person_id):
        row = store.escalation_row(esc_id)
        events = store.events(esc_id)
        escalations.append(
            {
                "id": esc_id,
                "policy": row.policy_id if row else None,
                "case_reference": row.case_reference if row else None,
                "status": row.status if row else None,
                "opened": row.opened_at.isoformat() if row else None,
                # What they did, and what others recorded that names them (by id or in their words).
                "entries": [
                    {"at": e.at.isoformat(), "kind": e.kind, "by": e.actor, "data": _without_policy(e.data)}
                    for e in events
                    if _names(e, person_id) or _in_words(e, person.name)
                ],
            }
        )
    return {
        "subject": person_id,
        "made_at": now.isoformat(),
        "directory": {
            "id": person.id,
            "name": person.name,
            "agency": person.agency,
            "role": person.role,
            "manager_id": person.manager_id,
            "email": person.email,
            "slack_id": person.slack_id,
            "slack_workspace": person.slack_team,
            "teams_id": person.teams_id,
            "teams_tenant": person.teams_tenant,
            "partnership_admin": person.admin,
            "admin_policies": list(person.admin_policies),
            "safeguarding_roles": [r.value for r in person.roles],
            "active": person.active,
            "confirmed": person.confirmed,
        },
        "settings": store.settings_of(person_id),
        "escalations": escalations,
        "messages_to_them": [
            {"queued": at.isoformat(), "status": status, "escalation": m.escalation_id, "text": m.text}
            for at, status, m in store.messages_to(person_id)
        ],
    }


def _without_policy(data: dict[str, Any]) -> dict[str, Any]:
    # The policy snapshot in a `raised` entry is the partnership's document, not about anyone.
    return {k: v for k, v in data.items() if k != "policy"}


def _in_words(event: StoredEvent, name: str) -> bool:
    words = " ".join(str(event.data.get(k, "")) for k in TEXT_FIELDS)
    return bool(name) and name.casefold() in words.casefold()


def erasure_plan(store: Storage, person_id: str) -> tuple[list[str], list[Mention]]:
    """The escalations an erasure would touch, and others' words that name the person."""
    person = store.person(person_id)
    if person is None:
        raise NoSuchPerson(person_id)
    escalation_ids = store.escalations_of_person(person_id)
    mentions = [
        Mention(esc_id, e.at, e.kind, e.actor)
        for esc_id in escalation_ids
        for e in store.events(esc_id)
        if e.actor != person_id and _in_words(e, person.name)
    ]
    return escalation_ids, mentions


def erase_person(store: Storage, person_id: str, *, now: datetime) -> Erasure:
    """Erase `person_id` by the rule above, in one transaction; returns the new id and what to review."""
    person = store.person(person_id)
    if person is None:
        raise NoSuchPerson(person_id)
    escalation_ids, mentions = erasure_plan(store, person_id)
    with store.transaction():
        number = 1 + sum(1 for _, _, rule, _ in store.erasures() if rule == ERASURE_RULE)
        new_id = f"erased-{number:04d}"
        while store.person(new_id) is not None:
            number += 1
            new_id = f"erased-{number:04d}"
        store.rekey_person(
            person_id,
            new_id,
            name=person.role or "Name erased",
            escalation_ids=escalation_ids,
            rewrite=lambda data: _replace(data, person_id, new_id),
        )
        for esc_id in escalation_ids:
            store.append_event(
                esc_id,
                at=now,
                kind="person_erased",
                actor="bot",
                data={"person": new_id, "rule": ERASURE_RULE},
            )
        store.log_erasure(new_id, ERASURE_RULE, {"escalations": escalation_ids}, now=now)
    store.settle_erasure()
    return Erasure(new_id, tuple(escalation_ids), tuple(mentions))
