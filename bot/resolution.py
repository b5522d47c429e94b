"""Ending a difference by agreement: the side that raised it decides; the other side proposes.

Enfield: "Resolution is the desired outcome of this protocol – that all parties concerned reach a
shared understanding, with minimal dissent, of the next steps to keep the child or young person
safe." The challenge belongs to the side that raised it, so their Resolved closes it; the side
being challenged cannot close a challenge to itself, so its Resolved asks the raising side to
agree. At the final stage the partnership decides (Camden: "This decision will be made at a
specially convened CSCP Dispute Resolution meeting"), so a partnership member's Resolved closes it.
"""  # noqa: RUF002 (the policy's own dash, quoted as written)

from __future__ import annotations

from datetime import datetime

from bot import notices, reminders
from bot.calendar import LONDON, WorkingCalendar
from bot.commands import ActionDone, AnswerProposal, Reopen, Resolve
from bot.errors import InvalidInput, Refused
from bot.escalation import PARTNERSHIP, RAISING, RESOLVED, Escalation
from bot.ledger import Ledger
from bot.messages import Action, ActionKind, Message, MessageKind, case_actions
from bot.notices import when_iso
from bot.policy import Anchor
from bot.stages import start_clock
from bot.timeline import MilestoneTime, milestone_due
from bot.wording import MAX_SHORT, MAX_TEXT, name, when


def decides(esc: Escalation, actor: str, ledger: Ledger) -> bool:
    """True when `actor`'s Resolved closes the difference; False when it is a proposal."""
    side = esc.side_of(actor)
    if side == RAISING:
        return True
    if esc.at_final_stage:
        admins = {a.id for a in ledger.store.admins(esc.policy.id)}
        return side == PARTNERSHIP or actor in admins
    return False


def resolve(esc: Escalation, c: Resolve, ledger: Ledger, calendar: WorkingCalendar) -> list[Message]:
    """The raising side (or, at the final stage, the partnership) closes it; anyone else proposes."""
    outcome = c.outcome.strip()
    if not outcome:
        raise InvalidInput({"outcome": "Please say what was agreed."})
    owned = owned_actions(esc, c, ledger, calendar)
    lookup = ledger.store.person
    actions = tuple(a.strip()[:MAX_SHORT] for a in c.agreed_actions if a.strip())
    actions += tuple(f"{a['what']} ({name(a['owner'], lookup)}, by {when_iso(a['by'])})" for a in owned)
    if decides(esc, c.actor, ledger):
        return _close(esc, c.actor, outcome, actions, ledger, calendar, proposed_by=None, owned=owned)
    return _propose(esc, c.actor, outcome, actions, ledger, owned)


def owned_actions(
    esc: Escalation, c: Resolve, ledger: Ledger, calendar: WorkingCalendar
) -> tuple[dict[str, str], ...]:
    """Agreed actions with an owner on the escalation and a day, due by the end of that day.
    C&P asks the record to hold "agreed actions from resolution process, timescales"."""
    now = ledger.clock.now()
    found = []
    for n, action in enumerate(c.owned, start=1):
        what = action.what.strip()[:MAX_SHORT]
        if not what:
            continue
        if action.owner not in esc.participants():
            raise InvalidInput({f"owner_{n}": "Choose someone on this escalation to do it."})
        by = calendar.end_of_day(action.by)
        if by <= now:
            raise InvalidInput({f"by_{n}": "Choose a day from today on."})
        found.append({"what": what, "owner": action.owner, "by": by.isoformat()})
    return tuple(found)


def answer_proposal(
    esc: Escalation, c: AnswerProposal, ledger: Ledger, calendar: WorkingCalendar
) -> list[Message]:
    """The raising side agrees (it closes, with both names) or not (it stays open, reason kept)."""
    proposal = esc.proposal
    if proposal is None:
        raise InvalidInput({"agree": f"There is no proposal to answer on {esc.id}: it was answered already."})
    if not decides(esc, c.actor, ledger):
        raise Refused("Only the side that raised the difference can agree that it is resolved.")
    if c.agree:
        return _close(
            esc,
            c.actor,
            proposal.outcome,
            proposal.agreed_actions,
            ledger,
            calendar,
            proposed_by=proposal.by,
            owned=proposal.owned,
        )
    reason = c.reason.strip()
    if not reason:
        raise InvalidInput({"reason": "Please say why you do not agree, so the other side knows."})
    ledger.record(
        esc, "proposal_not_agreed", c.actor, {"reason": reason[:MAX_TEXT], "proposed_by": proposal.by}
    )
    ledger.save(esc)
    lookup = ledger.store.person
    due = f"stage {esc.stage.number} is due by {when(esc.stage.due)}" if esc.stage.due else "it stays open"
    to_proposer = "\n".join(
        [
            f"Not agreed: {name(c.actor, lookup)} does not agree {esc.id} is resolved",
            notices.heading(esc),
            f"Why: {reason}",
            f"It stays open and {due}. Talk to {name(c.actor, lookup)}, or escalate it.",
        ]
    )
    return [
        Message(
            to=proposal.by,
            text=to_proposer,
            kind=MessageKind.NOTICE,
            escalation_id=esc.id,
            actions=case_actions(esc.id, final_stage=esc.at_final_stage, raiser=False),
        ),
        Message(
            to=c.actor,
            text=f"Recorded: you did not agree {esc.id} is resolved. It stays open and {due}.",
            kind=MessageKind.REPLY,
            escalation_id=esc.id,
        ),
    ]


def _propose(
    esc: Escalation,
    actor: str,
    outcome: str,
    actions: tuple[str, ...],
    ledger: Ledger,
    owned: tuple[dict[str, str], ...] = (),
) -> list[Message]:
    data = {"outcome": outcome[:MAX_TEXT], "agreed_actions": list(actions), "owned": list(owned)}
    ledger.record(esc, "resolution_proposed", actor, data)
    ledger.save(esc)
    lookup = ledger.store.person
    deciders = esc.handling(RAISING)
    due = (
        f"Until then it stays open: stage {esc.stage.number} is due by {when(esc.stage.due)}."
        if (esc.stage.due)
        else "Until then it stays open."
    )
    lines = [
        f"Resolved? {name(actor, lookup)} proposes {esc.id} is resolved",
        notices.heading(esc),
        f"Proposed outcome: {outcome}",
    ]
    if actions:
        lines.append("Agreed actions:\n" + "\n".join(f"• {a}" for a in actions))
    lines.append("Tap Agree to close it, or Not agreed to keep it open and say why.")
    ask = "\n".join(lines)
    messages = [
        Message(
            to=p,
            text=ask,
            kind=MessageKind.NOTICE,
            escalation_id=esc.id,
            actions=(
                Action(ActionKind.AGREE_RESOLVED, esc.id),
                Action(ActionKind.NOT_AGREED, esc.id),
            ),
        )
        for p in deciders
    ]
    asked = ", ".join(name(p, lookup) for p in deciders)
    messages.append(
        Message(
            to=actor,
            text=f"Sent to {asked} to agree that {esc.id} is resolved. {due}",
            kind=MessageKind.REPLY,
            escalation_id=esc.id,
        )
    )
    return messages


def _close(
    esc: Escalation,
    actor: str,
    outcome: str,
    actions: tuple[str, ...],
    ledger: Ledger,
    calendar: WorkingCalendar,
    *,
    proposed_by: str | None,
    owned: tuple[dict[str, str], ...] = (),
) -> list[Message]:
    now = ledger.clock.now()
    kind = "closed" if esc.at_final_stage else "resolved"
    data: dict = {"outcome": outcome[:MAX_TEXT], "agreed_actions": list(actions), "owned": list(owned)}
    if proposed_by:
        data |= {"proposed_by": proposed_by, "agreed_by": actor}
    ledger.record(esc, kind, actor, data)
    ledger.store.close_questions(esc.id)
    follow_ups = plan_after_resolution(esc, now, calendar)
    ledger.store.replace_reminders(esc.id, [*follow_ups, *_plan_actions(esc, owned, now, calendar)])
    ledger.save(esc)
    lookup = ledger.store.person
    if proposed_by:
        first = f"Resolved: {esc.id}, agreed by {name(proposed_by, lookup)} and {name(actor, lookup)}"
    elif kind == "closed":
        first = f"Closed: {esc.id}, decided at the final stage by {name(actor, lookup)}"
    else:
        first = f"Resolved: {name(actor, lookup)} closed {esc.id}"
    lines = [first, notices.heading(esc), f"Outcome: {outcome}"]
    if actions:
        lines.append("Agreed actions:\n" + "\n".join(f"• {a}" for a in actions))
    for _, _, _, planned in follow_ups:
        lines.append(f"Still to do: {planned['name']} by {when(datetime.fromisoformat(planned['due']))}.")
    lines.append(f"The full record for the child's file: export {esc.id}.")
    text = "\n".join(lines)
    # A resolution reaches everyone's direct messages, not only the case thread.
    return [Message(to=p, text=text, escalation_id=esc.id) for p in sorted(esc.participants())]


def _plan_actions(
    esc: Escalation, owned: tuple[dict[str, str], ...], now: datetime, calendar: WorkingCalendar
) -> list[reminders.Planned]:
    """Each owned action: its owner reminded on the morning it is due; checked at its end."""
    planned: list[reminders.Planned] = []
    for index, action in enumerate(owned):
        by = datetime.fromisoformat(action["by"])
        morning = reminders.next_allowed(
            datetime.combine(by.astimezone(LONDON).date(), reminders.HEADS_UP_AT, tzinfo=LONDON),
            calendar,
            hourly=False,
        )
        data = {"index": index, **action}
        if now < morning < by:
            planned.append((esc.stage.number, reminders.ACTION, morning, data))
        planned.append((esc.stage.number, reminders.ACTION_CHECK, by, data))
    return planned


def action_done(esc: Escalation, c: ActionDone, ledger: Ledger) -> list[Message]:
    """Its owner (or the raising side) says an agreed action is done: recorded, with who and when."""
    if not 0 <= c.index < len(esc.owned_actions):
        raise InvalidInput({"index": f"{esc.id} has no such agreed action."})
    action = esc.owned_actions[c.index]
    if c.actor != action["owner"] and esc.side_of(c.actor) != RAISING:
        raise Refused("Only the person who agreed to do it, or the side that raised it, can mark it done.")
    if c.index in esc.actions_done:
        return []
    ledger.record(esc, "action_done", c.actor, {"index": c.index, "what": action["what"]})
    ledger.save(esc)
    text = f"Recorded on {esc.id}: {action['what']} - done."
    return [Message(to=c.actor, text=text, kind=MessageKind.REPLY, escalation_id=esc.id)]


def reopen(esc: Escalation, c: Reopen, ledger: Ledger, calendar: WorkingCalendar) -> list[Message]:
    """The raising side reopens a resolved difference: back to the stage where it was resolved,
    with that stage's timescale afresh."""
    if esc.status != RESOLVED:
        raise InvalidInput(
            {"reason": f"{esc.id} is {esc.status}: only a resolved difference can be reopened."}
        )
    if esc.side_of(c.actor) != RAISING:
        raise Refused("Only the side that raised the difference can reopen it.")
    reason = c.reason.strip()[:MAX_SHORT]
    if not reason:
        raise InvalidInput(
            {"reason": "Please say why it needs reopening (e.g. which agreed action was not done)."}
        )
    ledger.record(esc, "reopened", c.actor, {"reason": reason, "stage": esc.stage.number})
    # Back to the same stage, with the same people, and that stage's timescale from now.
    start_clock(esc, esc.stage.number, actor=c.actor, target_due=None, ledger=ledger, calendar=calendar)
    ledger.store.replace_reminders(esc.id, reminders.plan_stage(esc, calendar))
    ledger.save(esc)
    lookup = ledger.store.person
    text = "\n".join(
        [
            f"Reopened: {name(c.actor, lookup)} reopened {esc.id}",
            notices.heading(esc),
            f"Why: {reason}",
            notices.stage_block(esc),
        ]
    )
    return [
        Message(
            to=p,
            text=text,
            escalation_id=esc.id,
            actions=case_actions(esc.id, final_stage=esc.at_final_stage, raiser=esc.side_of(p) == RAISING),
        )
        for p in esc.current_people()
    ]


def plan_after_resolution(
    esc: Escalation, now: datetime, calendar: WorkingCalendar
) -> list[reminders.Planned]:
    """Reminders for the milestones a policy counts from the resolution (e.g. Redbridge's written
    confirmation of the outcome)."""
    stage = esc.policy.stage(esc.stage.number)
    planned: list[reminders.Planned] = []
    for milestone in stage.milestones:
        if milestone.after is Anchor.RESOLUTION:
            due = milestone_due(milestone, now, calendar)
            planned += reminders.plan_milestone(
                stage.number, MilestoneTime(milestone.id, milestone.name, due), now, calendar
            )
    return planned
