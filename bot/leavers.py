"""A leaver: deactivated at once, so they can act no more, and on each open escalation where they
handled a side, that side is asked who takes over, so nothing stalls."""

from __future__ import annotations

from bot import notices
from bot.escalation import SIDES, Escalation
from bot.ledger import Ledger
from bot.messages import Action, ActionKind, Message, MessageKind
from bot.wording import name

TAKEOVER = "takeover"


def deactivate(ledger: Ledger, person_id: str) -> list[Message]:
    """Deactivate `person_id` and ask, on each open escalation they handle a side of, who takes over."""
    store = ledger.store
    leaver = store.person(person_id)
    if leaver is None or not store.deactivate(person_id):
        return []
    messages: list[Message] = []
    for row in store.open_escalations_of(person_id):
        esc = ledger.load(row.id)
        if esc is None or not esc.is_open:
            continue
        side = esc.side_of(person_id)
        if side not in SIDES or person_id not in esc.handling(side):
            continue
        ask = _who_to_ask(ledger, esc, side, person_id)
        data = {"side": side, "stage": esc.stage.number, "leaver": person_id, "agency": leaver.agency}
        ledger.record(esc, "person_left", "bot", {"person": person_id, "side": side, "asked": ask})
        for asked in ask:
            question_id = store.add_question(esc.id, asked, TAKEOVER, data)
            messages.append(_question(ledger, esc, asked, person_id, question_id))
        ledger.save(esc)
    return messages


def _who_to_ask(ledger: Ledger, esc: Escalation, side: str, leaver_id: str) -> list[str]:
    """Whoever else handles that side; else the leaver's line manager; else the others who have
    been on that side; else the partnership's admins. Only people still active."""
    store = ledger.store

    def active(ids: list[str]) -> list[str]:
        found = [store.person(p) for p in dict.fromkeys(ids) if p != leaver_id]
        return [p.id for p in found if p and p.active]

    leaver = store.person(leaver_id)
    for candidates in (
        esc.handling(side),
        [leaver.manager_id] if leaver and leaver.manager_id else [],
        esc.sides[side],
        [a.id for a in store.admins(esc.policy.id)],
    ):
        found = active(candidates)
        if found:
            return found[:1]
    return []


def _question(ledger: Ledger, esc: Escalation, to: str, leaver_id: str, question_id: int) -> Message:
    lookup = ledger.store.person
    leaver = name(leaver_id, lookup)
    text = "\n".join(
        [
            f"Who takes over from {leaver} on {esc.id}?",
            notices.heading(esc),
            f"{leaver} has left and no longer uses the bot. Stage {esc.stage.number} is due "
            f"by {notices.when_iso(esc.stage.due.isoformat() if esc.stage.due else None)}. "
            "Choose who takes over their part: we'll send them the summary and what each side has said.",
        ]
    )
    return Message(
        to=to,
        text=text,
        kind=MessageKind.QUESTION,
        escalation_id=esc.id,
        actions=(Action(ActionKind.NAME_ROLE_HOLDER, esc.id, str(question_id)),),
        data={"question": TAKEOVER, "person": to, "question_id": question_id},
    )
