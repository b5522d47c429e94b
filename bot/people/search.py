"""Finding anyone in the partnership's directory as a person types: by name, agency, role or email.

The chat platforms' own pickers search one Slack workspace or one Microsoft 365 tenant; a
professional difference is between agencies, so the bot's pickers search its own directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.people.directory import Person

if TYPE_CHECKING:
    from bot.storage import Storage

# A picker's answer names a directory person with this prefix, so it can never be mistaken for a
# platform's own user id (what the older pickers sent).
CHOICE_PREFIX = "dir:"
SHORTEST_QUERY = 2
MOST_TERMS = 5
LONGEST_QUERY = 100
# Enough candidates to rank well; a picker shows 15 (Teams) or 100 (Slack) at most.
CANDIDATES = 200


def find_people(store: Storage, text: str, *, limit: int = 15) -> list[Person]:
    """Active people matching every word typed, best first: name starts, then agency or role
    starts, then email, then anywhere. Fewer than two characters finds nobody."""
    terms = text.strip().lower()[:LONGEST_QUERY].split()[:MOST_TERMS]
    if len("".join(terms)) < SHORTEST_QUERY:
        return []
    found = store.search_people(terms, limit=CANDIDATES)
    return sorted(found, key=lambda p: (_rank(p, terms), p.name.lower(), p.id))[:limit]


def _rank(person: Person, terms: list[str]) -> int:
    def starts(text: str | None) -> bool:
        words = (text or "").lower().replace("-", " ").split()
        return all(any(w.startswith(t) for w in words) for t in terms)

    if starts(person.name):
        return 0
    if starts(f"{person.name} {person.agency} {person.role}"):
        return 1
    if person.email and person.email.lower().startswith(terms[0]):
        return 2
    return 3


def choice_label(person: Person, limit: int = 75) -> str:
    """How a person shows in a picker: "Name, role, agency", cut to fit the platform's limit."""
    label = f"{person.name}, {person.role}, {person.agency}"
    if not person.confirmed:
        label += " (not yet confirmed)"
    return label if len(label) <= limit else label[: limit - 1] + "…"


def choice_value(person: Person) -> str:
    """A picker option's value for this person."""
    return CHOICE_PREFIX + person.id


def chosen(store: Storage, value: str | None) -> Person | None:
    """The directory person a picker's answer names (a leaver too, so the caller can say so)."""
    value = (value or "").strip()
    if not value.startswith(CHOICE_PREFIX):
        return None
    return store.person(value.removeprefix(CHOICE_PREFIX))
