"""Reading the agreed actions a resolve form gives with an owner and a day, the same in Slack and
Teams: a row half filled is refused beside its field, an empty one is left out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from bot.commands import OwnedAction
from bot.errors import InvalidInput

ROWS = 2  # agreed actions with an owner and a day; more go in the free text


def owned_rows(v: dict[str, Any], day: Callable[[Any], date | None]) -> tuple[OwnedAction, ...]:
    """Rows action_N / owner_N / by_N of a submitted form, as owned actions."""
    found = []
    for n in range(1, ROWS + 1):
        what = str(v.get(f"action_{n}") or "").strip()
        if not what:
            continue
        owner, by = str(v.get(f"owner_{n}") or ""), day(v.get(f"by_{n}"))
        if not owner:
            raise InvalidInput({f"owner_{n}": "Who will do it?"})
        if by is None:
            raise InvalidInput({f"by_{n}": "By when?"})
        found.append(OwnedAction(what, owner, by))
    return tuple(found)
