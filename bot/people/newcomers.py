"""Someone a practitioner names who is not in the directory yet: added as unconfirmed, with the
work email they are reached by until they are linked to Slack or Teams."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import InvalidInput, Refused
from bot.people.directory import EMAIL, LIMITS, Person

if TYPE_CHECKING:
    from bot.storage import Storage


@dataclass(frozen=True)
class Newcomer:
    """What a form asks of someone not in the directory: all four are needed to reach them."""

    name: str
    agency: str
    role: str
    email: str

    @property
    def given(self) -> bool:
        """True when any of the four was filled in (the person meant to name someone new)."""
        return any(v.strip() for v in (self.name, self.agency, self.role, self.email))


def newcomer_problems(newcomer: Newcomer) -> dict[str, str]:
    """What is missing or wrong, by field (name, agency, role, email); empty when all is well."""
    problems: dict[str, str] = {}
    for field, label in (("name", "their name"), ("agency", "their agency"), ("role", "their role")):
        value = getattr(newcomer, field).strip()
        if not value:
            problems[field] = f"Please give {label}, so they know who is asking."
        elif len(value) > LIMITS[field]:
            problems[field] = f"That is {len(value)} characters; at most {LIMITS[field]}."
    email = newcomer.email.strip()
    if not email:
        problems["email"] = "Please give their work email: the bot reaches them by email."
    elif len(email) > LIMITS["email"] or not EMAIL.fullmatch(email):
        problems["email"] = "That is not an email address: give a work address like name@agency.org.uk."
    return problems


def add_newcomer(store: Storage, newcomer: Newcomer) -> Person:
    """The person this names: someone already in the directory with that email, else a new,
    unconfirmed person. A leaver with that email is refused, so they are never brought back."""
    problems = newcomer_problems(newcomer)
    if problems:
        raise InvalidInput(problems)
    email = newcomer.email.strip()
    known = store.person_by(email=email, active_only=False)
    if known is not None and not known.active:
        raise Refused(f"{known.name} ({email}) has left. Choose who now does their work.")
    if known is not None:
        return known
    person = Person(
        id=_new_id(newcomer.name, email),
        name=newcomer.name.strip(),
        agency=newcomer.agency.strip(),
        role=newcomer.role.strip(),
        email=email,
        confirmed=False,
    )
    store.upsert_people([person])
    return person


def _new_id(name: str, email: str) -> str:
    # Readable in `directory list`, and stable for the email, so naming them twice is one person.
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:30] or "person"
    digest = hashlib.sha256(email.lower().encode()).hexdigest()[:8]
    return f"new-{slug}-{digest}"
