"""The person the message being sent is for, as `Delivery.send` read them from the directory: a
platform's sender takes them from here rather than spending a database step reading them again."""

from __future__ import annotations

from contextvars import ContextVar

from bot.people import Person

RECIPIENT: ContextVar[Person | None] = ContextVar("recipient", default=None)


def known_recipient(person_id: str) -> Person | None:
    """The recipient `Delivery.send` looked up, if it is `person_id`; None means read them."""
    person = RECIPIENT.get()
    return person if person is not None and person.id == person_id else None
