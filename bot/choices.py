"""What one person may do on one escalation now, so a page offers only what the core would accept."""

from __future__ import annotations

from dataclasses import dataclass

from bot.escalation import Escalation, Proposal
from bot.ledger import Ledger
from bot.resolution import decides


@dataclass(frozen=True)
class OwnedAction:
    """An agreed action this person owns and has not yet marked done."""

    index: int
    what: str
    by: str  # ISO date-time it is due by


@dataclass(frozen=True)
class Choices:
    add_note: bool
    # The other side's proposal that it is resolved, when this person's answer decides it.
    proposal_to_answer: Proposal | None
    actions_to_do: tuple[OwnedAction, ...]
    # Saying it is resolved: closes it for the side that raised it, asks them to agree otherwise.
    may_resolve: bool = False
    resolve_closes: bool = False


def choices(esc: Escalation, actor: str, ledger: Ledger) -> Choices:
    """What `actor`, already allowed to see `esc`, may do on it now."""
    answer = esc.proposal if esc.is_open and esc.proposal and decides(esc, actor, ledger) else None
    todo = tuple(
        OwnedAction(n, action["what"], action["by"])
        for n, action in enumerate(esc.owned_actions)
        if action["owner"] == actor and n not in esc.actions_done
    )
    closes = decides(esc, actor, ledger)
    # A proposal already waiting is answered, not overtaken by another.
    may_resolve = esc.is_open and (esc.proposal is None or closes)
    return Choices(
        add_note=True,
        proposal_to_answer=answer,
        actions_to_do=todo,
        may_resolve=may_resolve,
        resolve_closes=closes,
    )
