"""Answers to the bot's questions "who is your line manager?" and "who is the named lead?": the
answer is remembered, and every escalation waiting on it goes on."""

from __future__ import annotations

from bot import notices, outgoing
from bot.commands import NameManager, NameRoleHolder
from bot.errors import InvalidInput, Refused
from bot.escalation import Escalation
from bot.leavers import TAKEOVER
from bot.ledger import Ledger
from bot.messages import Message, MessageKind
from bot.people import Person, Role, agency_key
from bot.storage import Question
from bot.wording import name, who


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
    waiting = store.open_questions(person_id=c.person, kind="manager")
    for question in waiting:
        _refuse_the_other_side(ledger, question, manager)
    store.set_manager(c.person, manager.id)
    messages = [
        Message(
            to=c.actor, text=f"Thanks: {manager.name} is noted as the line manager.", kind=MessageKind.REPLY
        )
    ]
    for question in waiting:
        store.close_question(question.id)
        messages += _join(ledger, question.escalation_id, question.data, manager.id, c.actor)
    return messages


def asked(ledger: Ledger, actor: str, question_id: int) -> Question:
    """The open role question `actor` may answer: they were asked it, or they are an admin of its
    partnership. Checked before anyone new is added to the directory for the answer."""
    store = ledger.store
    question = store.question(question_id)
    if question is None or question.kind not in {"role", TAKEOVER}:
        raise InvalidInput(
            {"person": "That question isn't one we asked. Use the latest message from the bot."}
        )
    esc = ledger.load(question.escalation_id)
    person = store.person(actor)
    if actor != question.person_id and not (person and esc and person.is_admin_for(esc.policy.id)):
        raise Refused("Only the person we asked, or a partnership admin, can answer that.")
    if question.status != "open":
        raise InvalidInput({"person": "That has been answered already, or the difference has moved on."})
    return question


def name_role_holder(c: NameRoleHolder, ledger: Ledger) -> list[Message]:
    """Someone asked who holds a role in their side's agency answers; the answer is remembered for
    that agency, and every escalation waiting for that role there brings the person in."""
    store = ledger.store
    question = asked(ledger, c.actor, c.question_id)
    holder = store.person(c.person)
    if holder is None or not holder.active:
        raise InvalidInput({"person": "We can't find that person in the directory."})
    if question.kind == TAKEOVER:
        return _take_over(ledger, c, question, holder)
    role, agency = Role(question.data["role"]), question.data["agency"]
    if agency_key(holder.agency) != agency_key(agency):
        # What is remembered reaches every later difference with this agency: only someone the
        # directory places in it can hold its role.
        raise InvalidInput(
            {"person": f"{holder.name} is recorded with {holder.agency}. Name the {role.label} for {agency}."}
        )
    _refuse_the_other_side(ledger, question, holder)
    store.name_role_holder(role, agency, holder.id)
    messages = [
        Message(
            to=c.actor,
            text=f"Thanks: {holder.name} is noted as the {role.label} for {agency}.",
            kind=MessageKind.REPLY,
        )
    ]
    for waiting in store.open_questions(kind="role", role=role.value, agency=agency):
        store.close_question(waiting.id)
        role_words = f"the {role.label} for {agency}"
        messages += _join(ledger, waiting.escalation_id, waiting.data, holder.id, c.actor, role_words)
    return messages


def _take_over(ledger: Ledger, c: NameRoleHolder, question: Question, holder: Person) -> list[Message]:
    """Someone takes over a leaver's part: they join that side at this stage, with the briefing."""
    agency = question.data["agency"]
    if agency_key(holder.agency) != agency_key(agency):
        raise InvalidInput(
            {"person": f"{holder.name} is recorded with {holder.agency}. Name someone from {agency}."}
        )
    _refuse_the_other_side(ledger, question, holder)
    for same in ledger.store.open_questions(escalation_id=question.escalation_id, kind=TAKEOVER):
        if same.data.get("leaver") == question.data["leaver"]:
            ledger.store.close_question(same.id)
    leaver = name(question.data["leaver"], ledger.store.person)
    messages = [
        Message(to=c.actor, text=f"Thanks: {holder.name} takes over from {leaver}.", kind=MessageKind.REPLY)
    ]
    return messages + _join(
        ledger, question.escalation_id, question.data, holder.id, c.actor, f"taking over from {leaver}"
    )


def _refuse_the_other_side(ledger: Ledger, question: Question, person: Person) -> None:
    """Nobody may be named for one side of a difference who is already on the other."""
    esc = ledger.load(question.escalation_id)
    side = esc.side_of(person.id) if esc else None
    if side not in (None, question.data["side"]):
        raise InvalidInput(
            {"person": f"{person.name} is on the other side of {question.escalation_id}. Name someone else."}
        )


def _join(
    ledger: Ledger, esc_id: str, data: dict, person_id: str, actor: str, as_what: str | None = None
) -> list[Message]:
    """Bring `person_id` into a still-open escalation at the stage that asked for them."""
    esc: Escalation | None = ledger.load(esc_id)
    if esc is None or not esc.is_open or esc.stage.number != data["stage"]:
        return []
    if esc.side_of(person_id) not in (None, data["side"]):
        return []  # on the other side of this one: they cannot speak for this side too
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
    first = f"{name(person_id, lookup)} joined {esc.id}"
    joined = f"{first}\n{notices.heading(esc)}\n{who(person_id, lookup)} has joined" + (
        f" as {as_what}." if as_what else "."
    )
    messages += [
        Message(to=p, text=joined, escalation_id=esc.id, in_thread=True, data=outgoing.BROADCAST)
        for p in esc.participants()
        if p != person_id
    ]
    return messages
