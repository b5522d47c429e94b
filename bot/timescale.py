"""Timescales as written in policy files: "5 working days", "24 hours", "same working day"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class TimescaleKind(Enum):
    WORKING_DAYS = "working_days"
    HOURS = "hours"
    NONE = "none"


_PATTERNS: tuple[tuple[re.Pattern[str], TimescaleKind, int | None], ...] = (
    (re.compile(r"^same working day$"), TimescaleKind.WORKING_DAYS, 0),
    (re.compile(r"^next working day$"), TimescaleKind.WORKING_DAYS, 1),
    (re.compile(r"^1 working week$"), TimescaleKind.WORKING_DAYS, 5),
    (re.compile(r"^(\d+) working days?$"), TimescaleKind.WORKING_DAYS, None),
    (re.compile(r"^(\d+) hours?$"), TimescaleKind.HOURS, None),
    (re.compile(r"^none$"), TimescaleKind.NONE, 0),
)

# Kept in step with _PATTERNS so the policy schema refuses what parse() cannot read.
TIMESCALE_PATTERN = r"^(same working day|next working day|1 working week|\d+ working days?|\d+ hours?|none)$"


@dataclass(frozen=True)
class Timescale:
    """How long something may take: N working days, N elapsed hours, or none given."""

    kind: TimescaleKind
    amount: int
    text: str

    @classmethod
    def parse(cls, text: str) -> Timescale:
        """Read a policy file's timescale phrase; ValueError names what is accepted."""
        phrase = " ".join(text.strip().lower().split())
        for pattern, kind, fixed in _PATTERNS:
            match = pattern.match(phrase)
            if match:
                amount = fixed if fixed is not None else int(match.group(1))
                return cls(kind=kind, amount=amount, text=phrase)
        raise ValueError(
            f"{text!r} is not a timescale; use e.g. '5 working days', '1 working week', "
            "'same working day', 'next working day', '24 hours' or 'none'"
        )

    @property
    def given(self) -> bool:
        """False when the policy sets no timescale."""
        return self.kind is not TimescaleKind.NONE

    def describe(self) -> str:
        """Plain-English form for messages."""
        if self.kind is TimescaleKind.NONE:
            return "no timescale set by the policy"
        if self.kind is TimescaleKind.HOURS:
            return f"{self.amount} hour" + ("" if self.amount == 1 else "s")
        if self.amount == 0:
            return "the same working day"
        if self.amount == 1:
            return "the next working day"
        return f"{self.amount} working days"


NO_TIMESCALE = Timescale(kind=TimescaleKind.NONE, amount=0, text="none")
