"""The store as one sweep of due reminders sees it: each person in the directory read once a batch.

A sweep of a thousand reminders asks for the same people thousands of times: each message's
recipient, each name in a message, each handler's manager. A cache that outlived its batch would
serve a name, a manager or a leaver's access that the directory has since changed (between two
batches the server answers requests, and a sweep waits out bursts of them), so this one lives for
one batch only, and a change to the directory made through it empties it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.people import Person, Role
from bot.storage import EscalationRow, ListIndex, Storage, StoredEvent

# The Storage methods that change a history: what was read of histories is read again.
HISTORY_CHANGES = frozenset({"erase_escalation", "rekey_person"})
# The Storage methods that change people or their roles.
DIRECTORY_CHANGES = frozenset(
    {"upsert_people", "deactivate", "set_manager", "name_role_holder", "remove_role", "rekey_person"}
)


class SweepStore:
    """`store`, with directory reads remembered until the batch ends or the directory changes."""

    def __init__(self, store: Storage) -> None:
        self._store = store
        self._people: dict[str, Person | None] = {}
        self._admins: dict[str | None, list[Person]] = {}
        self._holders: dict[tuple[Role, str], list[Person]] = {}
        self._histories: dict[str, list[StoredEvent]] = {}
        self._indexes: dict[str, ListIndex] = {}

    def read_histories(self, escalation_ids: Iterable[str]) -> None:
        """Read a batch's histories at once; each is served once from here, then read afresh.
        The people on them (and their managers) not yet read come in one read too, and what the
        lists' index holds for each, for its first save. Called in the batch's transaction, and
        good only within it: what an earlier batch read and left unused (a batch paused for
        requests) is dropped, since those requests may have changed it; so is the directory."""
        wanted = list(dict.fromkeys(escalation_ids))
        found = self._store.events_of(wanted)
        self._histories = {e: found.get(e, []) for e in wanted}
        self._indexes = self._store.list_indexes(wanted)
        self._admins.clear()
        self._holders.clear()
        self._people = {person.id: person for person in self._store.people_of_escalations(wanted)}

    def events(self, escalation_id: str) -> list[StoredEvent]:
        if escalation_id in self._histories:
            return list(self._histories.pop(escalation_id))
        return self._store.events(escalation_id)

    def person(self, person_id: str) -> Person | None:
        if person_id not in self._people:
            self._people[person_id] = self._store.person(person_id)
        return self._people[person_id]

    def people_and_next_number(self, person_ids: Iterable[str]) -> tuple[dict[str, Person], int]:
        """`Storage.people_and_next_number`, the people remembered (those not found as None)."""
        ids = [person_id for person_id in person_ids if person_id]
        people, number = self._store.people_and_next_number(ids)
        self._people.update({person_id: people.get(person_id) for person_id in ids})
        return people, number

    def admins(self, policy_id: str | None = None) -> list[Person]:
        if policy_id not in self._admins:
            self._admins[policy_id] = self._store.admins(policy_id)
        return list(self._admins[policy_id])

    def role_holders(self, role: Role, agency: str) -> list[Person]:
        key = (role, agency)
        if key not in self._holders:
            self._holders[key] = self._store.role_holders(role, agency)
        return list(self._holders[key])

    def append_event(self, escalation_id: str, **event: Any) -> int:
        self._histories.pop(escalation_id, None)
        return self._store.append_event(escalation_id, **event)

    def save_escalation(self, row: EscalationRow, number: int | None = None) -> None:
        # Once: the save changes what the index holds.
        self._store.save_escalation(row, number, indexed=self._indexes.pop(row.id, None))

    def __getattr__(self, name: str) -> Any:
        if name in HISTORY_CHANGES:
            self._histories.clear()
            self._indexes.clear()
        if name in DIRECTORY_CHANGES:
            self._people.clear()
            self._admins.clear()
            self._holders.clear()
        return getattr(self._store, name)
