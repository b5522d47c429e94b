"""Policies as data: the typed model of one partnership's escalation procedure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.timescale import NO_TIMESCALE, Timescale


class People(Enum):
    """Who a stage brings in on each side."""

    PRACTITIONERS = "practitioners"
    NEXT_UP = "next_up"
    PARTNERSHIP = "partnership"


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

    def describe(self) -> str:
        """One line: label, then how to reach them."""
        ways = [w for w in (self.phone, self.email, self.url) if w]
        text = f"{self.label}: {', '.join(ways)}"
        return f"{text} ({self.when})" if self.when else text


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
    copy_to: tuple[Contact, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    named_roles: Mapping[str, str] | None = None

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

    def equivalent_role(self, level: int, agency: str) -> str | None:
        """The role the ladder gives an agency at `level`, matching the agency name loosely."""
        wanted = agency.lower()
        for column, role in self.equivalent_roles(level).items():
            if column.lower() in wanted or wanted in column.lower():
                return role
        return None

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
        )


def _contact(data: Mapping[str, Any]) -> Contact:
    return Contact(
        label=data["label"],
        phone=data.get("phone"),
        email=data.get("email"),
        url=data.get("url"),
        when=data.get("when"),
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
        copy_to=tuple(_contact(c) for c in data.get("copy_to", ())),
        alternatives=tuple(Alternative(a["applies_to"], a["instead"]) for a in data.get("alternatives", ())),
        named_roles=dict(data["named_roles"]) if data.get("named_roles") else None,
    )
