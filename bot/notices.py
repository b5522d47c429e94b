"""The texts of the bot's messages about an escalation: summaries, history, stage changes."""

from __future__ import annotations

from datetime import datetime

from bot.escalation import SIDES, Escalation, StageState
from bot.policy.text import describe_contacts, emergency_text, urgent_route_lines
from bot.stage_people import Directory, role_holders_named
from bot.timeline import StageTime
from bot.wording import PersonLookup, clip, due_phrase, name, next_stage_line, stamp, when, who

HISTORY_LINES = 8
NOTES_SHOWN = 6  # a newcomer's message stays short enough for a phone
NOTE_CHARS = 300


def heading(esc: Escalation) -> str:
    """First line of every message about an escalation: id, case reference, policy."""
    urgent = " · URGENT" if esc.urgent else ""
    return f"{esc.id} · case {esc.case_reference} · {esc.policy.short_name} policy{urgent}"


def category_label(esc: Escalation) -> str:
    category = esc.policy.category(esc.category)
    return category.label if category else "Other"


def stage_block(esc: Escalation, stage: StageState | None = None) -> str:
    """Which stage, its due time, its milestones, and what comes next."""
    stage = stage or esc.stage
    policy_stage = esc.policy.stage(stage.number)
    due_line = due_phrase(stage.due, stage.due_basis)
    if stage.due is not None and stage.due <= stage.started_at:
        # Enfield: the time counted from the start of stage 1 can run out before this stage starts.
        due_line = "Already due: the policy's time for this, counted from the start of stage 1, has run out."
    lines = [f"Stage {stage.number}: {policy_stage.title}.", due_line]
    for milestone in stage.milestones:
        lines.append(f"• {milestone.name}: by {when(milestone.due)}.")
    following = next_stage_line(esc.policy, stage.number)
    if following and esc.is_open:
        lines.append(f"If it isn't resolved, next is {following}.")
    return "\n".join(lines)


def stage_route(esc: Escalation, lookup: PersonLookup) -> str:
    """What the stage is, in the policy's words, who handles each side now, and whom to contact."""
    stage = esc.policy.stage(esc.stage.number)
    lines = []
    if esc.stage.number > 1:
        lines.append(
            "This stage is with: " + "; ".join(_side_people(esc, side, lookup) for side in SIDES) + "."
        )
    if stage.summary:
        lines.append(f"What the policy says for this stage: {stage.summary}")
    lines += describe_contacts(stage.contacts, "Contact ")
    lines += [f"{a.applies_to}: {a.instead}" for a in stage.alternatives]
    return "\n".join(lines)


def _side_people(esc: Escalation, side: str, lookup: PersonLookup) -> str:
    names = ", ".join(who(p, lookup) for p in esc.handling(side))
    waiting = esc.awaiting.get(side)
    if waiting:
        names += f" (we've asked {name(waiting, lookup)} who should join for this side)"
    return names


def urgent_route(esc: Escalation, directory: Directory) -> str | None:
    """The policy's route for an urgent difference, naming who holds its roles where known."""
    lines = urgent_route_lines(esc.policy)
    route = esc.policy.urgent_route
    if not lines or route is None:
        return None
    named = role_holders_named(esc, route.roles, directory)
    if named:
        lines.append("In the directory: " + "; ".join(named) + ".")
    return "\n".join(lines)


def summary(esc: Escalation, lookup: PersonLookup) -> str:
    """What the difference is about, in the raiser's words."""
    return "\n".join(
        [
            f"Raised by: {who(esc.raiser, lookup)}",
            f"With: {who(esc.counterpart, lookup)}",
            f"About: {category_label(esc)}",
            # In full (each is bounded when raised): whoever reads this starts from what was said.
            f"The concern: {esc.issue}",
            f"Risk to the child: {esc.risk}",
            f"Outcome wanted: {esc.outcome_wanted}",
        ]
    )


def history(esc: Escalation, lookup: PersonLookup, limit: int = HISTORY_LINES) -> str:
    """The latest entries of the record, one line each, so nobody starts from scratch."""
    lines: list[str] = []
    seen: set[str] = set()
    for event in esc.events:
        if event.kind == "participant_added":
            # A later stage that reaches someone already on it is not a joining.
            if event.data["person"] in seen:
                continue
            seen.add(event.data["person"])
        text = _history_line(event.kind, event.actor, event.data, lookup)
        if text:
            lines.append(f"• {stamp(event.at)} — {text}")
    if len(lines) > limit:
        earlier = len(lines) - limit
        lines = [f"• … {earlier} earlier entries are in the full record (export {esc.id})", *lines[-limit:]]
    return "\n".join(lines)


def _history_line(kind: str, actor: str, data: dict, lookup: PersonLookup) -> str | None:
    if kind == "raised":
        return f"raised by {name(actor, lookup)}"
    if kind == "stage_started":
        return f"stage {data['number']} started, due {when_iso(data.get('due'))}"
    if kind == "participant_added":
        return f"{name(data['person'], lookup)} joined"
    if kind == "note_added":
        return f"{name(actor, lookup)}: {clip(data['discussed'], 160)}"
    if kind == "note_corrected":
        return f"{name(actor, lookup)} corrected a note"
    if kind == "marked_urgent":
        return f"marked urgent by {name(actor, lookup)}: {clip(data['reason'], 160)}"
    if kind == "due_brought_forward":
        return f"{name(actor, lookup)} brought the due time forward to {when_iso(data['due'])}"
    if kind == "overdue_notified":
        return f"overdue: told {', '.join(name(p, lookup) for p in data['told'])}"
    if kind == "resolution_proposed":
        return f"{name(actor, lookup)} proposed it is resolved: {clip(data['outcome'], 160)}"
    if kind == "proposal_not_agreed":
        return f"{name(actor, lookup)} did not agree it is resolved: {clip(data['reason'], 160)}"
    if kind in {"resolved", "closed"} and data.get("proposed_by"):
        return (
            f"{kind} by agreement of {name(data['proposed_by'], lookup)} and {name(actor, lookup)}: "
            f"{clip(data['outcome'], 160)}"
        )
    if kind in {"resolved", "closed"}:
        return f"{kind} by {name(actor, lookup)}: {clip(data['outcome'], 160)}"
    if kind == "withdrawn":
        return f"withdrawn by {name(actor, lookup)}"
    return None


def when_iso(text: str | None) -> str:
    return when(datetime.fromisoformat(text)) if text else "no due time"


def equivalents(esc: Escalation) -> str | None:
    """Each agency's equivalent role at this stage, where the policy has a seniority ladder.

    The whole level is shown: matching a directory agency to a ladder column by name would pair,
    say, any health provider with a commissioner's director.
    """
    level = esc.policy.stage(esc.stage.number).seniority_level
    roles = esc.policy.equivalent_roles(level) if level is not None else {}
    if not roles:
        return None
    found = "; ".join(f"{agency}: {role}" for agency, role in roles.items())
    return f"Equivalent roles at level {level} (indicative): {found}."


def briefing(esc: Escalation, lookup: PersonLookup) -> str:
    """Everything a newcomer needs in one message, short enough for a phone: the summary, any
    immediate risk, why it was escalated, the stage, and what each side has said."""
    block = stage_block(esc)
    ladder = equivalents(esc)
    if ladder:
        block += "\n" + ladder
    route = stage_route(esc, lookup)
    if route:
        block += "\n" + route
    parts = [heading(esc), immediate_risk(esc, lookup), summary(esc, lookup), why_escalated(esc), block]
    return "\n\n".join(p for p in [*parts, what_was_said(esc, lookup)] if p)


def immediate_risk(esc: Escalation, lookup: PersonLookup) -> str | None:
    """Said to everyone on a difference raised with the child at immediate risk, with the policy's
    emergency guidance, in the first message they get."""
    if not esc.immediate_risk:
        return None
    return (
        f"IMMEDIATE RISK: {name(esc.raiser, lookup)} reported the child at immediate risk when raising "
        f"this.\n{emergency_text(esc.policy)}"
    )


def why_escalated(esc: Escalation) -> str | None:
    """The reasons given for each move to a later stage, in order."""
    lines = [
        f"Why it went to stage {e.data['number']}: {e.data['reason']}"
        for e in esc.events
        if e.kind == "stage_started" and e.data.get("reason")
    ]
    return "\n".join(lines) or None


def what_was_said(esc: Escalation, lookup: PersonLookup, limit: int = NOTES_SHOWN) -> str:
    """The notes each side has made, newest last, as they now read (bot events left out)."""
    notes = esc.notes
    if not notes:
        return "What each side has said: nothing recorded yet."
    lines = []
    for note in notes[-limit:]:
        latest = note.corrections[-1][1] if note.corrections else note.discussed
        text = clip(latest, NOTE_CHARS) if latest is not None else "(deleted by its author)"
        lines.append(f"• {stamp(note.at)} {name(note.author, lookup)}: {text}")
    if len(notes) > limit:
        lines.insert(0, f"• … {len(notes) - limit} earlier notes: tap Show the case, or export {esc.id}")
    return "What each side has said:\n" + "\n".join(lines)


def timeline_preview(stages: list[StageTime]) -> str:
    """ "Stage 1 is due by …; if it isn't resolved, stage 2 (…) due by …" for a raise form."""
    first = stages[0]
    if first.due is None:
        return "The policy sets no timescale for stage 1: it runs to the target date you agree."
    line = f"Stage 1 is due by {when(first.due)}."
    if len(stages) > 1:
        second = stages[1]
        due = f", due by {when(second.due)}" if second.due else ""
        line += f" If it isn't resolved by then, it goes to stage 2 ({second.title}){due}."
    return line
