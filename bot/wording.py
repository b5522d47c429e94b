"""Plain-English pieces of messages: times, people, stages. Short, for people on a phone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.calendar import LONDON
from bot.people import Person
from bot.policy import Policy, Stage

MAX_TEXT = 3000
MAX_SHORT = 200


def when(moment: datetime | None) -> str:
    """'5pm Mon 4 Jan 2027' in London time; 'no due time' for None."""
    if moment is None:
        return "no due time"
    local = moment.astimezone(LONDON)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    clock = f"{hour}{suffix}" if local.minute == 0 else f"{hour}:{local.minute:02d}{suffix}"
    return f"{clock} {local:%a} {local.day} {local:%b %Y}"


def stamp(moment: datetime) -> str:
    """'Mon 4 Jan 2027 17:00' for the case record."""
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Bound user text so one message cannot flood a chat."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, broken between lines where it can and between
    words where a line is too long: never inside a word, and nothing left out."""
    pieces: list[str] = []
    lines: list[str] = []
    size = 0
    for line in text.split("\n"):
        for part in _split_line(line, limit):
            extra = len(part) + (1 if lines else 0)
            if lines and size + extra > limit:
                pieces.append("\n".join(lines))
                lines, size = [part], len(part)
            else:
                lines.append(part)
                size += extra
    pieces.append("\n".join(lines))
    return pieces


def _split_line(line: str, limit: int) -> list[str]:
    if len(line) <= limit:
        return [line]
    parts: list[str] = []
    current = ""
    for word in line.split(" "):
        while len(word) > limit:  # one "word" longer than a whole piece: a long address
            if current:
                parts.append(current)
                current = ""
            parts.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            parts.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    parts.append(current)
    return parts


PersonLookup = Callable[[str], Person | None]


def who(person_id: str, lookup: PersonLookup) -> str:
    person = lookup(person_id)
    return person.describe() if person else person_id


def name(person_id: str, lookup: PersonLookup) -> str:
    person = lookup(person_id)
    return person.name if person else person_id


def stage_line(stage: Stage) -> str:
    return f"Stage {stage.number}: {stage.title}"


def next_stage_line(policy: Policy, number: int) -> str | None:
    if number >= policy.final_stage:
        return None
    return stage_line(policy.stage(number + 1))


def due_phrase(due: datetime | None, basis: str) -> str:
    if due is None:
        return "The policy sets no timescale for this stage."
    label = {
        "policy": "",
        "brought forward": " (brought forward)",
        "locally agreed": " (locally agreed target, not a policy timescale)",
    }.get(basis, "")
    return f"Due by {when(due)}{label}."
