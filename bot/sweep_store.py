"""The store as one sweep of due reminders sees it: each person in the directory read once.

A sweep of a thousand reminders asks for the same people thousands of times: each message's
recipient, each name in a message, each handler's manager. A cache that outlived the sweep would
serve a name, a manager or a leaver's access that the directory has since changed, so this one
lives for one sweep only, and a change to the directory made through it empties it.
"""

from __future__ import annotations

from typing import Any

from bot.people import Person, Role
from bot.storage import Storage

# The Storage methods that change people or their roles.
DIRECTORY_CHANGES = frozenset(
    {"upsert_people", "deactivate", "set_manager", "name_role_holder", "remove_role", "rekey_person"}
)


class SweepStore:
    """`store`, with directory reads remembered until the sweep ends or the directory changes."""

    def __init__(self, store: Storage) -> None:
        self._store = store
        self._people: dict[str, Person | None] = {}
        self._admins: dict[str | None, list[Person]] = {}
        self._holders: dict[tuple[Role, str], list[Person]] = {}

    def person(self, person_id: str) -> Person | None:
        if person_id not in self._people:
            self._people[person_id] = self._store.person(person_id)
        return self._people[person_id]

    def admins(self, policy_id: str | None = None) -> list[Person]:
        if policy_id not in self._admins:
            self._admins[policy_id] = self._store.admins(policy_id)
        return list(self._admins[policy_id])

    def role_holders(self, role: Role, agency: str) -> list[Person]:
        key = (role, agency)
        if key not in self._holders:
            self._holders[key] = self._store.role_holders(role, agency)
        return list(self._holders[key])

    def __getattr__(self, name: str) -> Any:
        if name in DIRECTORY_CHANGES:
            self._people.clear()
            self._admins.clear()
            self._holders.clear()
        return getattr(self._store, name)
