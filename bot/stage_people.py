"""Who a stage reaches on each side: the line-management chain, the holder of a named role in each
side's agency, or the partnership, as the policy says; and whom to ask when the directory can't say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.escalation import PARTNERSHIP, SIDES, Escalation
from bot.people import Person, Role
from bot.policy import People, Stage

MANAGER = "manager"
ROLE = "role"


@dataclass(frozen=True)
class Reached:
    """A person the stage reaches for a side (already on the escalation or not)."""

    side: str
    person: str


@dataclass(frozen=True)
class Unknown:
    """A side whose person the directory can't name: `ask` is asked to name them."""

    side: str
    ask: str
    kind: str  # MANAGER or ROLE
    role: Role | None = None
    agency: str | None = None


@dataclass(frozen=True)
class Directory:
    """The look-ups stage people need, so this stays free of storage."""

    person: Callable[[str], Person | None]
    role_holders: Callable[[Role, str], list[Person]]
    admins: Callable[[str], list[Person]]


def stage_people(esc: Escalation, stage: Stage, directory: Directory) -> tuple[list[Reached], list[Unknown]]:
    """Everyone `stage` reaches on `esc`, in order, and the sides the directory can't fill."""
    reached: list[Reached] = []
    unknown: list[Unknown] = []
    if stage.people is People.NEXT_UP:
        for side in SIDES:
            # Every person handling the side now (a stage may have reached several holders of a
            # role): their line managers, each once.
            handling = esc.handling(side)
            managers = [p.manager_id for p in map(directory.person, handling) if p and p.manager_id]
            managers = [m for m in dict.fromkeys(managers) if m not in handling and _may_join(esc, m, side)]
            if managers:
                reached += [Reached(side, m) for m in managers]
            else:
                unknown.append(Unknown(side, esc.top(side), MANAGER))
    if stage.role is not None and stage.people in (People.ROLE, People.PARTNERSHIP):
        for side in SIDES:
            agency = esc.agency_of(side, directory.person)
            holders: list[Person] = []
            for role in stage.roles if agency else ():
                holders = [p for p in directory.role_holders(role, agency) if _may_join(esc, p.id, side)]
                if holders:
                    break
            if holders:
                reached += [Reached(side, p.id) for p in holders]
            else:
                unknown.append(Unknown(side, esc.top(side), ROLE, stage.role, agency))
    if stage.people is People.PARTNERSHIP:
        reached += [Reached(PARTNERSHIP, a.id) for a in directory.admins(esc.policy.id)]
    return reached, unknown


def _may_join(esc: Escalation, person_id: str, side: str) -> bool:
    """Nobody speaks for both sides: someone already on the other side is not reached for this one."""
    return esc.side_of(person_id) in (None, side)


def role_holders_named(esc: Escalation, roles: tuple[Role, ...], directory: Directory) -> list[str]:
    """'head of service for Camden Children's Services: Ravi Shah' for each role and side's agency."""
    lines = []
    for role in roles:
        for side in SIDES:
            agency = esc.agency_of(side, directory.person)
            holders = directory.role_holders(role, agency) if agency else []
            if holders:
                lines.append(f"{role.label} for {agency}: {', '.join(p.name for p in holders)}")
    return list(dict.fromkeys(lines))
