"""The texts of the bot's messages about an escalation: summaries, history, stage changes."""

from __future__ import annotations

from datetime import datetime

from bot.escalation import Escalation, StageState
from bot.timeline import StageTime
from bot.wording import PersonLookup, clip, due_phrase, name, next_stage_line, stamp, when, who

HISTORY_LINES = 8


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


def summary(esc: Escalation, lookup: PersonLookup) -> str:
    """What the difference is about, in the raiser's words (bounded)."""
    return "\n".join(
        [
            f"Raised by: {who(esc.raiser, lookup)}",
            f"With: {who(esc.counterpart, lookup)}",
            f"About: {category_label(esc)}",
            f"The concern: {clip(esc.issue, 600)}",
            f"Risk to the child: {clip(esc.risk, 400)}",
            f"Outcome wanted: {clip(esc.outcome_wanted, 300)}",
        ]
    )


def history(esc: Escalation, lookup: PersonLookup, limit: int = HISTORY_LINES) -> str:
    """The latest entries of the record, one line each, so nobody starts from scratch."""
    lines: list[str] = []
    for event in esc.events:
        text = _history_line(event.kind, event.actor, event.data, lookup)
        if text:
            lines.append(f"• {stamp(event.at)} — {text}")
    if len(lines) > limit:
        lines = [f"• … {len(lines) - limit} earlier entries in the full record", *lines[-limit:]]
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
    if kind == "due_brought_forward":
        return f"{name(actor, lookup)} brought the due time forward to {when_iso(data['due'])}"
    if kind == "overdue_notified":
        return f"overdue: told {', '.join(name(p, lookup) for p in data['told'])}"
    if kind in {"resolved", "closed"}:
        return f"{kind} by {name(actor, lookup)}: {clip(data['outcome'], 160)}"
    if kind == "withdrawn":
        return f"withdrawn by {name(actor, lookup)}"
    return None


def when_iso(text: str | None) -> str:
    return when(datetime.fromisoformat(text)) if text else "no due time"


def equivalents(esc: Escalation, lookup: PersonLookup) -> str | None:
    """Who each side's equivalent is at this stage, where the policy has a seniority ladder."""
    level = esc.policy.stage(esc.stage.number).seniority_level
    if level is None or not esc.policy.seniority_ladder:
        return None
    found = []
    for person_id in (esc.raiser, esc.counterpart):
        person = lookup(person_id)
        role = esc.policy.equivalent_role(level, person.agency) if person else None
        if person and role:
            found.append(f"{person.agency}: {role}")
    if not found:
        found = [f"{agency}: {role}" for agency, role in esc.policy.equivalent_roles(level).items()]
    if not found:
        return None
    return f"Equivalent roles at level {level} (indicative): " + "; ".join(dict.fromkeys(found)) + "."


def briefing(esc: Escalation, lookup: PersonLookup) -> str:
    """Everything a newcomer needs in one message: summary, stage, history."""
    block = stage_block(esc)
    ladder = equivalents(esc, lookup)
    if ladder:
        block += "\n" + ladder
    return "\n\n".join(
        [heading(esc), summary(esc, lookup), block, "History so far:\n" + history(esc, lookup)]
    )


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
