"""Who gets which message about an escalation: case messages, questions, thread notices."""

from __future__ import annotations

from bot import notices
from bot.escalation import PARTNERSHIP, RAISING, Escalation
from bot.messages import Action, ActionKind, Message, MessageKind, case_actions
from bot.wording import PersonLookup, name


def case_message(esc: Escalation, person_id: str, text: str) -> Message:
    """The message a person's case thread hangs from, with their buttons."""
    return Message(
        to=person_id,
        text=text,
        kind=MessageKind.CASE,
        escalation_id=esc.id,
        actions=case_actions(
            esc.id, final_stage=esc.at_final_stage, raiser=esc.side_of(person_id) == RAISING
        ),
    )


def manager_question(esc: Escalation, person_id: str, side: str) -> Message:
    """Ask someone to name their line manager, whom the stage needs."""
    stage = esc.policy.stage(esc.stage.number)
    lines = [
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


def welcome(esc: Escalation, people: list[str], lookup: PersonLookup) -> list[Message]:
    """The case message for people joining at this stage: summary and history in one."""
    messages = []
    stage = esc.policy.stage(esc.stage.number)
    for person_id in people:
        side = esc.side_of(person_id)
        if side == PARTNERSHIP:
            intro = (
                f"This difference has reached stage {stage.number}, the partnership stage, "
                f"of the {esc.policy.short_name} policy."
            )
        else:
            colleague = esc.sides[side][-2] if side and len(esc.sides[side]) > 1 else None
            via = f" as {name(colleague, lookup)}'s manager" if colleague else ""
            intro = f"You've been brought into this professional difference{via}."
        text = "\n\n".join([intro, notices.briefing(esc, lookup)])
        if stage.named_roles:
            text += (
                "\n\nThe policy names the lead for each agency at this stage; ask the "
                "partnership if you are unsure who yours is."
            )
        messages.append(case_message(esc, person_id, text))
    return messages


def copy_in_notice(esc: Escalation) -> list[Message]:
    """Tell the current people whom the policy says to copy in at this stage."""
    stage = esc.policy.stage(esc.stage.number)
    if not stage.copy_to:
        return []
    contacts = "\n".join(f"• {c.describe()}" for c in stage.copy_to)
    text = (
        f"{notices.heading(esc)}\nAt stage {stage.number} the {esc.policy.short_name} policy says "
        f"to copy in:\n{contacts}"
    )
    return [Message(to=p, text=text, escalation_id=esc.id, in_thread=True) for p in esc.current_people()]


def to_everyone(esc: Escalation, text: str) -> list[Message]:
    """A notice in the case thread of everyone on the escalation."""
    return [
        Message(to=p, text=text, escalation_id=esc.id, in_thread=True) for p in sorted(esc.participants())
    ]


def reminder_to_current(esc: Escalation, text: str) -> list[Message]:
    """A reminder, with the buttons to act on it, to the people the stage is with now."""
    return [
        Message(
            to=p,
            text=text,
            kind=MessageKind.REMINDER,
            escalation_id=esc.id,
            actions=case_actions(esc.id, final_stage=esc.at_final_stage, raiser=esc.side_of(p) == RAISING),
            in_thread=True,
        )
        for p in esc.current_people()
    ]
