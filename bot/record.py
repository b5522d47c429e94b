"""The case record for the child's file: each entry's date, form, people, discussion, outcome."""

from __future__ import annotations

from datetime import datetime

from bot.escalation import Escalation
from bot.storage import StoredEvent
from bot.wording import PersonLookup, stamp, when, who

# What an entry says where a field the policies require was not given: never an invented value.
NOT_RECORDED = "not recorded"


def _cell(text: str) -> str:
    # One line per field, so user text cannot break the record's structure.
    return " ".join(text.split())


def _table_cell(text: str) -> str:
    return _cell(text).replace("|", "\\|")


def _entry(esc: Escalation, event: StoredEvent, lookup: PersonLookup) -> list[str] | None:
    d = event.data
    actor = who(event.actor, lookup) if event.actor != "bot" else "The escalation bot"
    platform = esc.platform.capitalize()
    if event.kind == "raised":
        arose = f" The disagreement arose on {d['disagreement_on']}." if d.get("disagreement_on") else ""
        return _fields(
            event,
            "Difference raised",
            form=f"Raised through the escalation bot ({platform})",
            involved=f"{actor}; {who(d['counterpart'], lookup)}",
            discussed=(
                f"About: {_category(esc, d['category'])}. Concern: {d['issue']} — "
                f"Risk to the child: {d['risk']} — Outcome wanted: {d['outcome_wanted']}{arose}"
            ),
            outcome=(
                "Immediate risk reported: emergency guidance shown; treated as urgent."
                if d["immediate_risk"]
                else ("Treated as urgent." if d["urgent"] else "Stage 1 started.")
            ),
        )
    if event.kind == "note_added":
        # The details its author added later (how, who, outcome) belong to the note itself.
        note = next((n for n in esc.notes if n.seq == event.seq), None)
        form = note.form if note else d["form"]
        involved = note.involved if note else d.get("involved")
        outcome = note.outcome if note else d.get("outcome")
        later = f" (details added {stamp(note.detailed_at)})" if note and note.detailed_at else ""
        return _fields(
            event,
            "Case note",
            form=form + later,
            involved=involved or NOT_RECORDED,
            discussed=d["discussed"],
            outcome=outcome or NOT_RECORDED,
            recorded_by=actor,
        )
    if event.kind == "note_corrected":
        text = d.get("text")
        return _fields(
            event,
            f"Correction to the note of {_note_time(esc, d['corrects'])}",
            form="Correction",
            involved=actor,
            discussed=text if text is not None else "The original message was deleted.",
            outcome="The earlier entry stands in the record; this correction follows it.",
        )
    if event.kind == "stage_started":
        stage = esc.policy.stage(d["number"])
        due = when(datetime.fromisoformat(d["due"])) if d.get("due") else "no timescale"
        basis = " (locally agreed target)" if d["due_basis"] == "locally agreed" else ""
        involves = (
            f"This stage involves {stage.involves_raising}."
            if stage.involves_raising == stage.involves_other
            else f"This stage involves: {stage.involves_raising}; and {stage.involves_other}."
        )
        at = esc.events.index(event)
        if at and esc.events[at - 1].kind == "reopened":
            involves = f"Reopened: {esc.events[at - 1].data['reason']}. {involves}"
        elif stage.number > 1:
            why = d.get("reason") or NOT_RECORDED
            involves = f"Why it could not be resolved at stage {stage.number - 1}: {why}. {involves}"
        return _fields(
            event,
            f"Stage {stage.number} started: {stage.title}",
            form="Escalation bot",
            involved=actor,
            discussed=involves,
            outcome=f"Due by {due}{basis}.",
        )
    if event.kind == "participant_added":
        return _fields(
            event,
            "Joined",
            form="Escalation bot",
            involved=who(d["person"], lookup),
            discussed=f"Brought in at stage {d['stage']} and sent the summary and history.",
            outcome="Notified.",
        )
    if event.kind == "due_brought_forward":
        return _fields(
            event,
            "Due time brought forward",
            form="Escalation bot",
            involved=actor,
            discussed=d.get("reason") or "No reason given.",
            outcome=f"Now due by {when(datetime.fromisoformat(d['due']))}.",
        )
    if event.kind == "marked_urgent":
        due = f"Stage due by {when(datetime.fromisoformat(d['due']))}." if d.get("due") else ""
        return _fields(
            event,
            "Marked urgent",
            form="Recorded through the escalation bot",
            involved=actor,
            discussed=d.get("reason") or "No reason given.",
            outcome=f"Urgent from now on. {due}".strip(),
        )
    if event.kind == "overdue_notified":
        return _chasing(esc, event, lookup)
    if event.kind == "person_left":
        asked = "; ".join(who(p, lookup) for p in d.get("asked") or []) or "no one could be asked"
        return _fields(
            event,
            f"Left: {who(d['person'], lookup)}",
            form="Escalation bot",
            involved=asked,
            discussed=f"{who(d['person'], lookup)} left and was deactivated in the directory.",
            outcome=f"Asked who takes over their part: {asked}.",
        )
    if event.kind == "person_erased":
        return _fields(
            event,
            f"Name erased: {who(d['person'], lookup)}",
            form="Escalation bot",
            involved=who(d["person"], lookup),
            discussed=f"A participant's name and contact details were erased: {d.get('rule')}.",
            outcome="They are shown by their role from here on; what was recorded is unchanged.",
        )
    if event.kind == "reopened":
        return None  # told in the entry of the stage it returns to
    if event.kind == "record_opened":
        return None  # in its own section, "Read by people not on it"
    if event.kind in {"action_done", "action_not_done"}:
        done = event.kind == "action_done"
        return _fields(
            event,
            f"Agreed action {'done' if done else 'not done'}: {d['what']}",
            form="Recorded through the escalation bot" if done else "Escalation bot",
            involved=actor,
            discussed=d["what"],
            outcome="Done." if done else f"Not marked done by {when(datetime.fromisoformat(d['by']))}.",
        )
    if event.kind == "milestone_met":
        return _fields(
            event,
            f"Step done: {d['name']}",
            form="Recorded through the escalation bot",
            involved=actor,
            discussed=f"{d['name']}, as the policy asks at stage {esc_stage_at(esc, event)}.",
            outcome=f"Done, recorded by {actor}.",
        )
    if event.kind == "milestone_missed":
        return _fields(
            event,
            f"Step missed: {d['name']}",
            form="Escalation bot",
            involved="The escalation bot",
            discussed=f"{d['name']} was due by {when(datetime.fromisoformat(d['due']))}.",
            outcome="Not marked done by its due time.",
        )
    if event.kind == "resolution_proposed":
        actions = d.get("agreed_actions") or []
        outcome = (
            d["outcome"].rstrip(".") + (". Agreed actions: " + "; ".join(actions) if actions else "") + "."
        )
        return _fields(
            event,
            "Resolution proposed",
            form="Recorded through the escalation bot",
            involved=actor,
            discussed=f"Proposed that the difference is resolved at stage {esc_stage_at(esc, event)}.",
            outcome=f"Proposed outcome: {outcome} Sent to the raising side to agree.",
        )
    if event.kind == "proposal_not_agreed":
        return _fields(
            event,
            "Resolution not agreed",
            form="Recorded through the escalation bot",
            involved=f"{actor}; proposed by {who(d['proposed_by'], lookup)}",
            discussed=d["reason"],
            outcome="Not agreed: the difference stays open and the stage's timescale runs on.",
        )
    if event.kind in {"resolved", "closed", "withdrawn"}:
        title = {
            "resolved": "Resolved",
            "closed": "Closed at the final stage",
            "withdrawn": "Withdrawn",
        }
        outcome = d.get("outcome") or d.get("reason") or ""
        actions = d.get("agreed_actions") or []
        if actions:
            outcome = outcome.rstrip(".") + ". Agreed actions: " + "; ".join(actions) + "."
        involved = actor
        if d.get("proposed_by"):
            involved = f"Proposed by {who(d['proposed_by'], lookup)}; agreed by {actor}"
        return _fields(
            event,
            title[event.kind] + (" by agreement" if d.get("proposed_by") else ""),
            form="Recorded through the escalation bot",
            involved=involved,
            discussed=f"{title[event.kind]} at stage {esc_stage_at(esc, event)}.",
            outcome=outcome,
        )
    return None


def _chasing(esc: Escalation, first: StoredEvent, lookup: PersonLookup) -> list[str] | None:
    """One entry per stage for all its overdue chases, where the first one falls."""
    stage = esc_stage_at(esc, first)
    chases = [e for e in esc.events if e.kind == "overdue_notified" and esc_stage_at(esc, e) == stage]
    if chases[0].seq != first.seq:
        return None  # already told, in the entry at the first chase
    people = list(dict.fromkeys(p for e in chases for p in e.data["told"]))
    above = chases[0].data.get("above") or []
    span = stamp(chases[0].at) if len(chases) == 1 else f"{stamp(chases[0].at)} and {stamp(chases[-1].at)}"
    times = "once" if len(chases) == 1 else f"{len(chases)} times"
    return _fields(
        first,
        f"Overdue at stage {stage}",
        form="Escalation bot messages",
        involved="; ".join(who(p, lookup) for p in people),
        discussed=f"Stage {stage} passed its due time without being resolved or escalated.",
        outcome=(f"Chased {times}, between {span}." if len(chases) > 1 else f"Chased once, on {span}.")
        + (
            f" The next level up ({'; '.join(who(p, lookup) for p in above)}) told on {stamp(chases[0].at)}."
            if above
            else ""
        ),
    )


def _category(esc: Escalation, category_id: str) -> str:
    category = esc.policy.category(category_id)
    return category.label if category else "Other"


def esc_stage_at(esc: Escalation, event: StoredEvent) -> int:
    """The stage an escalation was at when `event` happened."""
    number = 1
    for earlier in esc.events:
        if earlier.seq > event.seq:
            break
        if earlier.kind == "stage_started":
            number = earlier.data["number"]
    return number


def _note_time(esc: Escalation, seq: int) -> str:
    for note in esc.notes:
        if note.seq == seq:
            return stamp(note.at)
    return "an earlier entry"


def _fields(
    event: StoredEvent,
    title: str,
    *,
    form: str,
    involved: str,
    discussed: str,
    outcome: str,
    recorded_by: str | None = None,
) -> list[str]:
    lines = [
        f"### {stamp(event.at)} — {title}",
        "",
        f"- **Date and time:** {stamp(event.at)}",
        f"- **Form of communication:** {_cell(form)}",
        f"- **Who was involved:** {_cell(involved)}",
        f"- **What was discussed:** {_cell(discussed)}",
        f"- **Outcome:** {_cell(outcome)}",
    ]
    if recorded_by:
        lines.append(f"- **Recorded by:** {_cell(recorded_by)}")
    return [*lines, ""]


def erased_notice(esc: Escalation) -> str | None:
    """What is left to say of an escalation whose content was erased (None if it was not)."""
    erased = next((e for e in reversed(esc.events) if e.kind == "erased"), None)
    if erased is None:
        return None
    return (
        f"The record of {esc.id} ({esc.policy.name}) was erased on {stamp(erased.at)} under the rule "
        f"\u201c{erased.data.get('rule', 'not recorded')}\u201d. Only the anonymous figures the "
        "partnership's learning report counts remain; the child's file holds the record."
    )


def export_markdown(
    esc: Escalation,
    lookup: PersonLookup,
    *,
    exported_by: str | None = None,
    exported_at: datetime | None = None,
) -> str:
    """The whole history of an escalation as Markdown for the child's file."""
    erased = erased_notice(esc)
    if erased is not None:
        return f"# Case record: escalation {esc.id}\n\n{erased}\n"
    policy = esc.policy
    exported = ""
    if exported_at is not None:
        by = who(exported_by, lookup) if exported_by else "the command line (escalation-bot export)"
        exported = f"{stamp(exported_at)}, by {by}"
    lines = [
        f"# Case record: escalation {esc.id}",
        "",
        f"- **Partnership:** {policy.name}",
        f"- **Policy:** {policy.source_title} ({policy.source_date})",
        f"- **Case reference:** {_cell(esc.case_reference)}",
        f"- **Escalation:** {esc.id}",
        *([f"- **Exported on:** {exported}"] if exported else []),
        f"- **Raised by:** {who(esc.raiser, lookup)}",
        f"- **Other professional:** {who(esc.counterpart, lookup)}",
        f"- **Opened:** {stamp(esc.opened_at)}",
        f"- **Status:** {esc.status}" + (f" ({stamp(esc.ended_at)})" if esc.ended_at else ""),
        f"- **Urgent:** {'yes' if esc.urgent else 'no'}",
        "",
        "The policy asks that each record shows: "
        + "; ".join(item.rstrip(".").lower() for item in policy.record_must_include)
        + ".",
        "",
        "## Entries",
        "",
    ]
    joined: set[str] = set()
    for event in esc.events:
        if event.kind == "participant_added":
            if event.data["person"] in joined:
                continue  # reached again at a later stage: already on the record as joining
            joined.add(event.data["person"])
        entry = _entry(esc, event, lookup)
        if entry:
            lines += entry
    lines += [
        "## Stages",
        "",
        "| Stage | Title | Started | Due | Ended |",
        "|---|---|---|---|---|",
    ]
    for stage in esc.stages:
        title = policy.stage(stage.number).title
        due = when(stage.due) if stage.due else "no timescale"
        if stage.due_basis == "locally agreed":
            due += " (locally agreed)"
        elif stage.due_basis == "brought forward":
            due += " (brought forward)"
        ended = f"{stamp(stage.ended_at)} ({stage.ended_by})" if stage.ended_at else "open"
        lines.append(
            f"| {stage.number} | {_table_cell(title)} | {stamp(stage.started_at)} | {due} | {ended} |"
        )
    lines.append("")
    readers = [e for e in esc.events if e.kind == "record_opened"]
    if readers:
        lines += [
            "## Read by people not on it",
            "",
            "| When | Who | What | As |",
            "|---|---|---|---|",
            *(
                f"| {stamp(e.at)} | {_table_cell(who(e.actor, lookup))} | "
                f"{_table_cell(e.data.get('what', ''))} | {_table_cell(e.data.get('as', ''))} |"
                for e in readers
            ),
            "",
        ]
    return "\n".join(lines)
