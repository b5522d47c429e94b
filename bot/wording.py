"""Plain-English pieces of messages: times, people, stages. Short, for people on a phone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.calendar import LONDON
from bot.people import Person
from bot.phones import unbreakable
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
    """A moment in the record, read the same way as every other time the bot shows: '5pm Mon
    4 Jan 2027'."""
    return when(moment)


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


_KEEP = "\ue000"  # stands in for a space inside a phone number while a line is split


def _split_line(line: str, limit: int) -> list[str]:
    if len(line) <= limit:
        return [line]
    return [part.replace(_KEEP, " ") for part in _split_words(unbreakable(line, _KEEP), limit)]


def _split_words(line: str, limit: int) -> list[str]:
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


@dataclass(frozen=True)
class Page:
    """One page of a long list: which items, and where it stands among them all."""

    items: list
    number: int
    pages: int
    first: int  # 1-based position of the first item shown
    total: int

    def footer(self, next_command: str) -> str | None:
        """'Showing 1 to 50 of 120. `next_command` shows the next 50.' (None when all are shown)."""
        if self.pages <= 1:
            return None
        text = f"Showing {self.first} to {self.first + len(self.items) - 1} of {self.total}."
        if self.number < self.pages:
            following = min(len(self.items), self.total - self.number * len(self.items))
            text += f" {next_command.format(page=self.number + 1)} shows the next {following}."
        return text


def page_of(items: list, page_text: str, size: int) -> Page:
    """The page `page_text` asks for (1 when it is not a page number), never past the last."""
    pages = max(1, (len(items) + size - 1) // size)
    text = page_text.strip()
    number = int(text) if text.isascii() and text.isdigit() and int(text) > 0 else 1
    number = min(number, pages)
    start = (number - 1) * size
    return Page(items[start : start + size], number, pages, start + 1, len(items))


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
