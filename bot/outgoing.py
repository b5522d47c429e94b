"""Who gets which message about an escalation: case messages, questions, thread notices."""

from __future__ import annotations

from dataclasses import replace

from bot import notices
from bot.escalation import PARTNERSHIP, RAISING, SIDES, Escalation
from bot.messages import Action, ActionKind, Message, MessageKind, case_actions
from bot.people import Role
from bot.policy import CopyRole, People
from bot.policy.text import describe_contacts
from bot.stage_people import Directory, Unknown
from bot.wording import PersonLookup, name

# A notice posted in the case thread and shown in the person's direct messages too.
BROADCAST = {"broadcast": True}


def case_message(esc: Escalation, person_id: str, text: str) -> Message:
    """The message a person's case thread hangs from, with their buttons."""
    return Message(
        to=person_id,
        text=text,
        kind=MessageKind.CASE,
        escalation_id=esc.id,
        actions=case_actions(
            esc.id,
            final_stage=esc.at_final_stage,
            raiser=esc.side_of(person_id) == RAISING,
            may_mark_urgent=may_mark_urgent(esc),
        ),
    )


def may_mark_urgent(esc: Escalation) -> bool:
    """An open difference not yet urgent, under a policy that says when a difference is urgent."""
    return esc.is_open and not esc.urgent and esc.policy.urgent_when is not None


def manager_question(esc: Escalation, person_id: str, side: str) -> Message:
    """Ask someone to name their line manager, whom the stage needs."""
    stage = esc.policy.stage(esc.stage.number)
    lines = [
        f"Who is your line manager? {esc.id} needs them",
        notices.heading(esc),
        f"Stage {stage.number} ({stage.title}) needs your line manager, and we don't know who that "
        "is yet. Who is it? We'll message them with the summary and history, and remember them "
        "for next time.",
    ]
    lines += [f"({a.applies_to}: {a.instead})" for a in stage.alternatives]
    return Message(
        to=person_id,
        text="\n".join(lines),
        kind=MessageKind.QUESTION,
        escalation_id=esc.id,
        actions=(Action(ActionKind.NAME_MANAGER, esc.id),),
        data={"question": "manager", "person": person_id},
    )


def role_question(esc: Escalation, gap: Unknown, question_id: int) -> Message:
    """Ask the person handling a side who holds the role the stage names, in their agency."""
    stage = esc.policy.stage(esc.stage.number)
    assert gap.role is not None
    agency = gap.agency or "your agency"
    lines = [
        f"Who is the {gap.role.label} for {agency}? {esc.id} needs them",
        notices.heading(esc),
        f"Stage {stage.number} ({stage.title}) goes to the {gap.role.label} for {agency}, and we don't "
        "know who that is yet. Who is it? We'll message them with the summary and history, and "
        "remember them for next time.",
    ]
    lines += describe_contacts(stage.contacts, "Contact ")
    lines += [f"({a.applies_to}: {a.instead})" for a in stage.alternatives]
    return Message(
        to=gap.ask,
        text="\n".join(lines),
        kind=MessageKind.QUESTION,
        escalation_id=esc.id,
        actions=(Action(ActionKind.NAME_ROLE_HOLDER, esc.id, str(question_id)),),
        data={"question": "role", "person": gap.ask, "question_id": question_id},
    )


def welcome(esc: Escalation, people: list[str], lookup: PersonLookup) -> list[Message]:
    """The case message for people joining at this stage: why them, then summary, why it was
    escalated and what each side has said, with the full record one tap away."""
    messages = []
    for p in people:
        message = case_message(esc, p, "\n\n".join([_why_you(esc, p, lookup), notices.briefing(esc, lookup)]))
        messages.append(replace(message, actions=(*message.actions, Action(ActionKind.SHOW, esc.id))))
    return messages


def _why_you(esc: Escalation, person_id: str, lookup: PersonLookup) -> str:
    stage = esc.policy.stage(esc.stage.number)
    side = esc.side_of(person_id)
    if side == PARTNERSHIP:
        return (
            f"You've been brought into {esc.id} at stage {stage.number}, the partnership stage of the "
            f"{esc.policy.short_name} policy."
        )
    if side and stage.role is not None and stage.people in (People.ROLE, People.PARTNERSHIP):
        agency = esc.agency_of(side, lookup) or "your agency"
        person = lookup(person_id)
        role = next((r for r in stage.roles if person and person.has_role(r)), stage.role)
        return f"You've been brought into {esc.id} as the {role.label} for {agency}."
    team = esc.sides[side] if side else []
    at = team.index(person_id) if person_id in team else 0
    via = f" as {name(team[at - 1], lookup)}'s manager" if at > 0 else ""
    if via:
        return f"You've been brought into {esc.id}{via}."
    return f"You've been brought into {esc.id}, a professional difference about a child's safety."


def copy_in(esc: Escalation, directory: Directory) -> list[Message]:
    """The copy-ins the policy asks for at this stage: the bot tells role holders itself, and tells
    the stage's people about the rest (a mailbox they should include)."""
    stage = esc.policy.stage(esc.stage.number)
    if not stage.copy_to:
        return []
    lookup = directory.person
    to_include: list[str] = []
    messages: list[Message] = []
    for item in stage.copy_to:
        if not isinstance(item, CopyRole):
            to_include.append(f"• {item.describe()}")
            continue
        holders = _copy_holders(esc, item, directory)
        if not holders:
            where = next((c.describe() for c in esc.policy.contacts if c.label == item.label), None)
            to_include.append(
                f"• {item.label}: the bot knows no {item.role.label} for this policy, so please copy "
                "them in yourself" + (f" ({where})" if where else "") + "."
            )
            continue
        note = (
            f"You're copied in on this professional difference as the {item.label}, as the "
            f"{esc.policy.short_name} policy asks: \u201c{item.quote}\u201d Nothing is needed from you "
            "unless you choose to act."
        )
        text = "\n\n".join([notices.heading(esc), note, notices.briefing(esc, lookup)])
        messages += [Message(to=p, text=text, escalation_id=esc.id, data={"copy": True}) for p in holders]
        names = ", ".join(name(p, lookup) for p in holders)
        to_include.append(f"• {item.label}: {names}, copied in by the bot.")
    text = (
        f"{notices.heading(esc)}\nAt stage {stage.number} the {esc.policy.short_name} policy says to "
        "copy in:\n" + "\n".join(to_include)
    )
    messages += [Message(to=p, text=text, escalation_id=esc.id, in_thread=True) for p in esc.current_people()]
    return messages


def _copy_holders(esc: Escalation, item: CopyRole, directory: Directory) -> list[str]:
    if item.role is Role.PARTNERSHIP_ADMIN:
        found = [a.id for a in directory.admins(esc.policy.id)]
    else:
        found = []
        for side in SIDES:
            agency = esc.agency_of(side, directory.person)
            found += [p.id for p in directory.role_holders(item.role, agency)] if agency else []
    return [p for p in dict.fromkeys(found) if p not in esc.participants()]


def to_everyone(esc: Escalation, text: str) -> list[Message]:
    """A notice in the case thread of everyone on the escalation."""
    return [
        Message(to=p, text=text, escalation_id=esc.id, in_thread=True) for p in sorted(esc.participants())
    ]


def reminder_actions(esc: Escalation, person_id: str) -> tuple[Action, ...]:
    """The buttons a reminder carries: what makes sense now (no earlier due time once overdue)."""
    actions = case_actions(esc.id, final_stage=esc.at_final_stage, raiser=esc.side_of(person_id) == RAISING)
    return tuple(a for a in actions if a.kind is not ActionKind.SET_EARLIER_DUE)


def reminder_to_current(esc: Escalation, text: str) -> list[Message]:
    """A reminder, with the buttons to act on it, to the people the stage is with now."""
    return [
        Message(
            to=p,
            text=text,
            kind=MessageKind.REMINDER,
            escalation_id=esc.id,
            actions=reminder_actions(esc, p),
            in_thread=True,
        )
        for p in esc.current_people()
    ]
