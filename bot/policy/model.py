"""Policies as data: the typed model of one partnership's escalation procedure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.people.roles import Role
from bot.timescale import NO_TIMESCALE, Timescale


class People(Enum):
    """Who a stage brings in on each side."""

    PRACTITIONERS = "practitioners"
    NEXT_UP = "next_up"  # each side's next person up the line-management chain
    ROLE = "role"  # whoever holds the stage's role in each side's agency
    PARTNERSHIP = "partnership"  # the partnership's admins (and each side's role holder, if named)


class Anchor(Enum):
    """What a timescale counts from."""

    STAGE_START = "stage_start"
    ESCALATION_START = "escalation_start"
    RESOLUTION = "resolution"
    DISAGREEMENT = "disagreement"


@dataclass(frozen=True)
class Contact:
    label: str
    phone: str | None = None
    email: str | None = None
    url: str | None = None
    when: str | None = None
    note: str | None = None

    def describe(self) -> str:
        """One line: label, then how to reach them, when, and what to say."""
        ways = [w for w in (self.phone, self.email, self.url) if w]
        text = f"{self.label}: {', '.join(ways)}"
        if self.when:
            text += f" ({self.when})"
        return f"{text}. {self.note}" if self.note else text


@dataclass(frozen=True)
class CopyRole:
    """A copy-in the bot makes itself: whoever holds `role` is told."""

    label: str
    role: Role
    quote: str


@dataclass(frozen=True)
class UrgentRoute:
    """Where an urgent difference goes besides the stages, as the document names it."""

    who: str
    decides: str
    quote: str
    when: str | None = None
    phone: str | None = None
    email: str | None = None
    roles: tuple[Role, ...] = ()

    def describe(self) -> str:
        """'Who (phone, email): what they decide.'"""
        ways = ", ".join(w for w in (self.phone, self.email) if w)
        return f"{self.who}{f' ({ways})' if ways else ''}: {self.decides}"


@dataclass(frozen=True)
class Milestone:
    id: str
    name: str
    who: str
    within: Timescale
    after: Anchor
    quote: str | None = None


@dataclass(frozen=True)
class Alternative:
    applies_to: str
    instead: str


@dataclass(frozen=True)
class Stage:
    number: int
    title: str
    people: People
    involves_raising: str
    involves_other: str
    standard: Timescale
    urgent: Timescale | None
    anchor: Anchor
    summary: str | None = None
    quote: str | None = None
    seniority_level: int | None = None
    milestones: tuple[Milestone, ...] = ()
    copy_to: tuple[Contact | CopyRole, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    named_roles: Mapping[str, str] | None = None
    role: Role | None = None
    or_roles: tuple[Role, ...] = ()  # tried in order where an agency has nobody in `role`
    people_quote: str | None = None
    contacts: tuple[Contact, ...] = ()

    @property
    def roles(self) -> tuple[Role, ...]:
        """The roles the stage reaches, in the order they are tried."""
        return (self.role, *self.or_roles) if self.role else ()

    def timescale(self, *, urgent: bool) -> Timescale:
        """The timescale that applies: the urgent one when urgent and the policy gives one."""
        if urgent and self.urgent is not None:
            return self.urgent
        return self.standard


@dataclass(frozen=True)
class Category:
    id: str
    label: str


@dataclass(frozen=True)
class OutOfScope:
    matter: str
    route: str
    contact: Contact | None = None


@dataclass(frozen=True)
class Policy:
    """One partnership's procedure, as loaded and validated from its file."""

    id: str
    name: str
    short_name: str
    source_title: str
    source_publisher: str
    source_date: str
    source_url: str | None
    categories: tuple[Category, ...]
    record_must_include: tuple[str, ...]
    emergency_guidance: tuple[str, ...]
    emergency_contacts: tuple[Contact, ...]
    out_of_hours: tuple[Contact, ...]
    stages: tuple[Stage, ...]
    out_of_scope: tuple[OutOfScope, ...]
    cross_borough: tuple[str, ...]
    guidance: tuple[str, ...]
    contacts: tuple[Contact, ...]
    urgent_when: str | None
    seniority_ladder: tuple[tuple[int, Mapping[str, str]], ...]
    ladder_note: str | None
    raw: Mapping[str, Any]
    urgent_route: UrgentRoute | None = None
    source_note: str | None = None
    corrections: tuple[Mapping[str, str], ...] = ()

    def stage(self, number: int) -> Stage:
        """The stage with this number; KeyError if the policy has none."""
        for stage in self.stages:
            if stage.number == number:
                return stage
        raise KeyError(f"{self.id} has no stage {number}")

    @property
    def final_stage(self) -> int:
        return self.stages[-1].number

    def category(self, category_id: str) -> Category | None:
        """The category with this id, if the policy lists it."""
        return next((c for c in self.categories if c.id == category_id), None)

    def equivalent_roles(self, level: int) -> Mapping[str, str]:
        """Enfield-style seniority ladder: each agency's role at `level` (empty if none given)."""
        return next((roles for ladder_level, roles in self.seniority_ladder if ladder_level == level), {})

    @property
    def has_urgent_timescales(self) -> bool:
        return any(stage.urgent is not None for stage in self.stages)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build a Policy from an already schema-validated mapping."""
        emergency = data["emergency"]
        ladder = data.get("seniority_ladder") or {}
        source = data["source"]
        return cls(
            id=data["id"],
            name=data["name"],
            short_name=data["short_name"],
            source_title=source["title"],
            source_publisher=source["publisher"],
            source_date=str(source["date"]),
            source_url=source.get("url"),
            categories=tuple(Category(c["id"], c["label"]) for c in data["categories"]),
            record_must_include=tuple(data["record_must_include"]),
            emergency_guidance=tuple(emergency["guidance"]),
            emergency_contacts=tuple(_contact(c) for c in emergency.get("contacts", ())),
            out_of_hours=tuple(_contact(c) for c in emergency.get("out_of_hours", ())),
            stages=tuple(_stage(s) for s in data["stages"]),
            out_of_scope=tuple(
                OutOfScope(o["matter"], o["route"], _contact(o["contact"]) if "contact" in o else None)
                for o in data["out_of_scope"]
            ),
            cross_borough=tuple(data.get("cross_borough", ())),
            guidance=tuple(data.get("guidance", ())),
            contacts=tuple(_contact(c) for c in data.get("contacts", ())),
            urgent_when=(data.get("urgent") or {}).get("when"),
            seniority_ladder=tuple(
                (level["level"], dict(level["roles"])) for level in ladder.get("levels", ())
            ),
            ladder_note=ladder.get("note"),
            raw=data,
            urgent_route=_urgent_route(data.get("urgent_route")),
            source_note=source.get("note"),
            corrections=tuple(source.get("corrections", ())),
        )


def _contact(data: Mapping[str, Any]) -> Contact:
    return Contact(
        label=data["label"],
        phone=data.get("phone"),
        email=data.get("email"),
        url=data.get("url"),
        when=data.get("when"),
        note=data.get("note"),
    )


def _copy(data: Mapping[str, Any]) -> Contact | CopyRole:
    if "role" in data:
        return CopyRole(data["label"], Role(data["role"]), data["quote"])
    return _contact(data)


def _urgent_route(data: Any) -> UrgentRoute | None:
    if not isinstance(data, Mapping):
        return None  # "none", or a snapshot from before urgent routes
    return UrgentRoute(
        who=data["who"],
        decides=data["decides"],
        quote=data["quote"],
        when=data.get("when"),
        phone=data.get("phone"),
        email=data.get("email"),
        roles=tuple(Role(r) for r in data.get("roles", ())),
    )


def _stage(data: Mapping[str, Any]) -> Stage:
    timescale = data["timescale"]
    urgent = timescale.get("urgent")
    return Stage(
        number=data["number"],
        title=data["title"],
        people=People(data["people"]),
        involves_raising=data["involves"]["raising"],
        involves_other=data["involves"]["other"],
        standard=Timescale.parse(timescale["standard"]) if timescale["standard"] else NO_TIMESCALE,
        urgent=Timescale.parse(urgent) if urgent else None,
        anchor=Anchor(timescale.get("anchor", "stage_start")),
        summary=data.get("summary"),
        quote=timescale.get("quote"),
        seniority_level=data.get("seniority_level"),
        milestones=tuple(
            Milestone(
                id=m["id"],
                name=m["name"],
                who=m["who"],
                within=Timescale.parse(m["within"]),
                after=Anchor(m["after"]),
                quote=m.get("quote"),
            )
            for m in data.get("milestones", ())
        ),
        copy_to=tuple(_copy(c) for c in data.get("copy_to", ())),
        alternatives=tuple(Alternative(a["applies_to"], a["instead"]) for a in data.get("alternatives", ())),
        named_roles=dict(data["named_roles"]) if data.get("named_roles") else None,
        role=Role(data["role"]) if data.get("role") else None,
        or_roles=tuple(Role(r) for r in data.get("or_roles", ())),
        people_quote=data.get("people_quote"),
        contacts=tuple(_contact(c) for c in data.get("contacts", ())),
    )
