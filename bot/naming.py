"""Answers to the bot's questions "who is your line manager?" and "who is the named lead?": the
answer is remembered, and every escalation waiting on it goes on."""

from __future__ import annotations

from bot import notices, outgoing
from bot.commands import NameManager, NameRoleHolder
from bot.errors import InvalidInput, Refused
from bot.escalation import Escalation
from bot.ledger import Ledger
from bot.messages import Message, MessageKind
from bot.people import Role
from bot.wording import who


def name_manager(c: NameManager, ledger: Ledger) -> list[Message]:
    """`actor` names `person`'s line manager; stages waiting for that manager bring them in."""
    store = ledger.store
    actor = store.person(c.actor)
    if actor is None or (c.actor != c.person and not actor.admin):
        raise Refused("You can only name your own line manager.")
    manager = store.person(c.manager)
    if manager is None:
        raise InvalidInput({"manager": "We can't find that person in the directory."})
    if manager.id == c.person:
        raise InvalidInput({"manager": "Name someone other than yourself."})
    store.set_manager(c.person, manager.id)
    messages = [
        Message(
            to=c.actor, text=f"Thanks: {manager.name} is noted as the line manager.", kind=MessageKind.REPLY
        )
    ]
    for question in store.open_questions(person_id=c.person, kind="manager"):
        store.close_question(question.id)
        messages += _join(ledger, question.escalation_id, question.data, manager.id, c.actor)
    return messages


def name_role_holder(c: NameRoleHolder, ledger: Ledger) -> list[Message]:
    """Someone asked who holds a role in their side's agency answers; the answer is remembered, and
    every escalation waiting for that role in that agency brings the person in."""
    store = ledger.store
    question = store.question(c.question_id)
    if question is None or question.kind != "role":
        raise InvalidInput(
            {"person": "That question isn't one we asked. Use the latest message from the bot."}
        )
    esc = ledger.load(question.escalation_id)
    actor = store.person(c.actor)
    may_answer = c.actor == question.person_id or bool(actor and esc and actor.is_admin_for(esc.policy.id))
    if not may_answer:
        raise Refused("Only the person we asked, or a partnership admin, can answer that.")
    if question.status != "open":
        raise InvalidInput({"person": "That has been answered already. Thank you."})
    holder = store.person(c.person)
    if holder is None:
        raise InvalidInput({"person": "We can't find that person in the directory."})
    role, agency = Role(question.data["role"]), question.data["agency"]
    store.name_role_holder(role, agency, holder.id)
    messages = [
        Message(
            to=c.actor,
            text=f"Thanks: {holder.name} is noted as the {role.label} for {agency}.",
            kind=MessageKind.REPLY,
        )
    ]
    for waiting in store.open_questions(kind="role"):
        if waiting.data.get("role") == role.value and waiting.data.get("agency") == agency:
            store.close_question(waiting.id)
            role_words = f"the {role.label} for {agency}"
            messages += _join(ledger, waiting.escalation_id, waiting.data, holder.id, c.actor, role_words)
    return messages


def _join(
    ledger: Ledger, esc_id: str, data: dict, person_id: str, actor: str, as_what: str | None = None
) -> list[Message]:
    """Bring `person_id` into a still-open escalation at the stage that asked for them."""
    esc: Escalation | None = ledger.load(esc_id)
    if esc is None or not esc.is_open or esc.stage.number != data["stage"]:
        return []
    if person_id in esc.stage.people.get(data["side"], []):
        return []
    already = person_id in esc.participants()
    ledger.record(
        esc, "participant_added", actor, {"side": data["side"], "person": person_id, "stage": data["stage"]}
    )
    ledger.save(esc)
    if already:
        return []  # they handle this side now, and were told of each step already
    lookup = ledger.store.person
    messages = outgoing.welcome(esc, [person_id], lookup)
    joined = f"{notices.heading(esc)}\n{who(person_id, lookup)} has joined" + (
        f" as {as_what}." if as_what else "."
    )
    messages += [
        Message(to=p, text=joined, escalation_id=esc.id, in_thread=True)
        for p in esc.participants()
        if p != person_id
    ]
    return messages
