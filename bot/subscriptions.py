"""What comes to a person without asking, and their choice to stop or start it.

Partnership admins get the overdue digests (bot/digest.py) and, at 9am on the first working day
of each month, the learning report for last month; each can be turned off. An agency's named or
designated safeguarding lead can ask for the overdue digests for their agency (off until asked).
"""

from __future__ import annotations

from bot.people import Person
from bot.storage import Storage

DIGESTS = "digests"
MONTHLY = "monthly"
CHOICES = {
    DIGESTS: "the overdue digests (each working day at 9am, and the weekly one)",
    MONTHLY: "the monthly learning report (the first working day of each month)",
}
ON, OFF = "on", "off"


def receives(store: Storage, person: Person, what: str, *, lead: bool = False) -> bool:
    """Whether `person` gets `what`: on by default for an admin; for a lead's agency digest, only
    once asked for; never for a leaver."""
    if not person.active:
        return False
    chosen = store.setting(person.id, what)
    if chosen is not None:
        return chosen == ON
    return person.admin and not lead


def choose(store: Storage, person: Person, what: str, on: bool, *, leads_for: tuple[str, ...]) -> str:
    """Record the choice; returns what to tell them (who can have it, and what they will get)."""
    if what not in CHOICES:
        raise ValueError(what)
    if what == MONTHLY and not person.admin:
        return "The monthly learning report goes to the partnership's admins only."
    if what == DIGESTS and not (person.admin or leads_for):
        return (
            "The overdue digests go to the partnership's admins, and to agencies' safeguarding leads "
            "who ask for them. The directory does not show you as either."
        )
    store.set_setting(person.id, what, ON if on else OFF)
    if not on:
        return f"You will no longer get {CHOICES[what]}. Say “{what} on” to have it again."
    scope = "your policies" if person.admin else f"the escalations involving {person.agency}"
    return f"You will get {CHOICES[what]} for {scope}. Say “{what} off” to stop it."
