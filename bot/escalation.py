"""An escalation's state, rebuilt from its append-only event history."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from bot.policy import Policy
from bot.storage import EscalationRow, StoredEvent
from bot.timeline import MilestoneTime

RAISING = "raising"
OTHER = "other"
PARTNERSHIP = "partnership"
SIDES = (RAISING, OTHER)

OPEN = "open"
RESOLVED = "resolved"
WITHDRAWN = "withdrawn"
CLOSED = "closed"


def escalation_id(number: int) -> str:
    """Short ids people can type: E-0001."""
    return f"E-{number:04d}"


@dataclass
class StageState:
    number: int
    started_at: datetime
    policy_due: datetime | None
    due: datetime | None
    due_basis: str  # "policy", "brought forward" or "locally agreed"
    people: dict[str, list[str]] = field(default_factory=dict)
    milestones: list[MilestoneTime] = field(default_factory=list)
    ended_at: datetime | None = None
    ended_by: str | None = None


@dataclass
class Note:
    seq: int
    at: datetime
    author: str
    discussed: str
    form: str
    involved: str
    outcome: str
    platform_ref: str | None
    corrections: list[tuple[datetime, str | None]] = field(default_factory=list)
    detailed_at: datetime | None = None


@dataclass(frozen=True)
class Proposal:
    """The other side's proposal that the difference is resolved, awaiting the raising side."""

    by: str
    at: datetime
    outcome: str
    agreed_actions: tuple[str, ...]
    owned: tuple[dict[str, str], ...] = ()  # {"what", "owner", "by"}: actions with an owner and date


@dataclass
class Escalation:
    """One raised difference about one child's case, as its events say it stands now."""

    id: str
    policy: Policy
    case_reference: str
    opened_at: datetime
    raiser: str
    counterpart: str
    category: str
    issue: str
    risk: str
    outcome_wanted: str
    urgent: bool
    immediate_risk: bool
    platform: str
    status: str = OPEN
    stages: list[StageState] = field(default_factory=list)
    sides: dict[str, list[str]] = field(default_factory=lambda: {RAISING: [], OTHER: [], PARTNERSHIP: []})
    awaiting: dict[str, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    outcome: str | None = None
    agreed_actions: tuple[str, ...] = ()
    proposal: Proposal | None = None
    milestones_met: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # id: (by, at)
    owned_actions: tuple[dict[str, str], ...] = ()  # of the latest resolution
    actions_done: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    ended_at: datetime | None = None
    events: list[StoredEvent] = field(default_factory=list)
    # Each side's agency, kept in the history itself once the people were erased (bot/retention.py).
    agencies: dict[str, str] = field(default_factory=dict)

    @property
    def stage(self) -> StageState:
        return self.stages[-1]

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def at_final_stage(self) -> bool:
        return self.stage.number >= self.policy.final_stage

    def participants(self) -> set[str]:
        """Everyone on the escalation: both sides at every stage reached, and the partnership."""
        return {p for people in self.sides.values() for p in people}

    def side_of(self, person_id: str) -> str | None:
        for side, people in self.sides.items():
            if person_id in people:
                return side
        return None

    def handling(self, side: str) -> list[str]:
        """Who handles a side now: the people the latest stage to reach that side brought in (or
        found already on it); before any, the professional who started that side."""
        for stage in reversed(self.stages):
            if stage.people.get(side):
                return list(stage.people[side])
        return list(self.sides[side][:1])

    def top(self, side: str) -> str:
        """The most senior person handling a side now (the last the latest stage reached)."""
        return self.handling(side)[-1]

    def agency_of(self, side: str, lookup) -> str | None:
        """The agency a side speaks for: that of the professional who started it."""
        if side in self.agencies:
            return self.agencies[side]
        person = lookup(self.sides[side][0]) if self.sides[side] else None
        return person.agency if person else None

    def current_people(self) -> list[str]:
        """Who the current stage is with: the people handling each side, the partnership, and at the
        first stage the two professionals too (Enfield's first stage already involves managers)."""
        people: list[str] = [self.raiser, self.counterpart] if self.stage.number == 1 else []
        for side in SIDES:
            if self.sides[side]:
                people.extend(self.handling(side))
        people.extend(self.sides[PARTNERSHIP])
        return list(dict.fromkeys(people))

    def note_by_ref(self, platform_ref: str) -> Note | None:
        return next((n for n in self.notes if n.platform_ref == platform_ref), None)

    def row(self, updated_at: datetime, lookup=None) -> EscalationRow:
        """The list view of this escalation; `lookup` (person by id) gives each side's agency."""
        return EscalationRow(
            id=self.id,
            policy_id=self.policy.id,
            case_reference=self.case_reference,
            status=self.status,
            stage=self.stage.number,
            due=self.stage.due if self.is_open else None,
            opened_at=self.opened_at,
            updated_at=updated_at,
            participants=tuple(sorted(self.participants())),
            category=self.category,
            urgent=self.urgent,
            immediate_risk=self.immediate_risk,
            highest_stage=max(s.number for s in self.stages),
            ended_at=None if self.is_open else self.ended_at,
            outcome_kind=self.outcome_kind,
            raiser_agency=self.agency_of(RAISING, lookup) if lookup else None,
            counterpart_agency=self.agency_of(OTHER, lookup) if lookup else None,
        )

    @property
    def outcome_kind(self) -> str | None:
        """How it ended: resolved by the raising side, agreed after the other side proposed it,
        decided at the final stage, or withdrawn; None while open."""
        if self.is_open:
            return None
        ending = next((e for e in reversed(self.events) if e.kind in _ENDINGS), None)
        if ending is None or ending.kind == "withdrawn":
            return "withdrawn" if ending else self.status
        if ending.kind == "closed":
            return "decided at the final stage"
        return "agreed after a proposal" if ending.data.get("proposed_by") else "resolved by the raising side"

    # -- rebuilding from events --------------------------------------------------------------

    @classmethod
    def from_events(cls, events: Iterable[StoredEvent]) -> Escalation:
        """Fold the history into the current state; the first event must be `raised`."""
        events = list(events)
        if not events or events[0].kind != "raised":
            raise ValueError("an escalation's history starts with its 'raised' event")
        first = events[0]
        d = first.data
        esc = cls(
            id=first.escalation_id,
            policy=_policy(d),
            case_reference=d["case_reference"],
            opened_at=first.at,
            raiser=first.actor,
            counterpart=d["counterpart"],
            category=d["category"],
            issue=d["issue"],
            risk=d["risk"],
            outcome_wanted=d["outcome_wanted"],
            urgent=d["urgent"],
            immediate_risk=d["immediate_risk"],
            platform=d["platform"],
            agencies=dict(d.get("agencies", {})),
        )
        esc.sides[RAISING].append(first.actor)
        esc.sides[OTHER].append(d["counterpart"])
        for event in events:
            esc.apply(event)
        return esc

    def apply(self, event: StoredEvent) -> None:
        """Apply one event to the state (unknown kinds are kept in history but change nothing)."""
        self.events.append(event)
        handler = _APPLY.get(event.kind)
        if handler:
            handler(self, event, event.data)


@lru_cache(maxsize=64)
def _compiled(text: str) -> Policy:
    return Policy.from_dict(json.loads(text))


def _policy(raised: dict[str, Any]) -> Policy:
    """The policy a `raised` event snapshotted, compiled once per distinct snapshot (storage names
    it by the hash of its content): a sweep loads hundreds of escalations under the same few
    policies, and Policy is frozen, so sharing one is safe."""
    digest = raised.get("policy_hash")
    if digest:
        return _compiled_by_hash(digest, raised["policy"])
    return _compiled(json.dumps(raised["policy"], sort_keys=True))  # an event built in memory


_BY_HASH: dict[str, Policy] = {}


def _compiled_by_hash(digest: str, snapshot: dict[str, Any]) -> Policy:
    if digest not in _BY_HASH:
        if len(_BY_HASH) > 64:
            _BY_HASH.clear()
        _BY_HASH[digest] = Policy.from_dict(snapshot)
    return _BY_HASH[digest]


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _stage_started(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.awaiting.clear()  # a question for an earlier stage no longer holds this one up
    esc.proposal = None  # moving on answers a proposal to resolve: it was not agreed
    if esc.stages:
        esc.stage.ended_at = event.at
        esc.stage.ended_by = "escalated"
    esc.stages.append(
        StageState(
            number=d["number"],
            started_at=event.at,
            policy_due=_time(d.get("policy_due")),
            due=_time(d.get("due")),
            due_basis=d["due_basis"],
            milestones=[
                MilestoneTime(m["id"], m["name"], datetime.fromisoformat(m["due"]))
                for m in d.get("milestones", ())
            ],
        )
    )


def _participant_added(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    side, person = d["side"], d["person"]
    if person not in esc.sides[side]:
        esc.sides[side].append(person)
    esc.stage.people.setdefault(side, []).append(person)
    if esc.awaiting.get(side):
        del esc.awaiting[side]


def _person_requested(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.awaiting[d["side"]] = d["asked"]


def _note_added(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.notes.append(
        Note(
            seq=event.seq,
            at=event.at,
            author=event.actor,
            discussed=d["discussed"],
            form=d["form"],
            involved=d.get("involved", ""),
            outcome=d.get("outcome", ""),
            platform_ref=d.get("platform_ref"),
        )
    )


def _reopened(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.status = OPEN
    esc.ended_at = None
    esc.outcome = None


def _action_done(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.actions_done[d["index"]] = (event.actor, event.at)


def _milestone_met(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.milestones_met[d["milestone"]] = (event.actor, event.at)


def _note_detailed(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    note = next((n for n in esc.notes if n.seq == d["note"]), None)
    if note is None:
        return
    for key in ("form", "involved", "outcome"):
        if d.get(key) is not None:
            setattr(note, key, d[key])
    note.detailed_at = event.at


def _note_corrected(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    for note in esc.notes:
        if note.seq == d["corrects"]:
            note.corrections.append((event.at, d.get("text")))


def _due_changed(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.stage.due = _time(d["due"])
    esc.stage.due_basis = d["due_basis"]


def _marked_urgent(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.urgent = True
    if d.get("due"):
        esc.stage.due = _time(d["due"])
        esc.stage.due_basis = d.get("due_basis", "policy")


def _proposed(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.proposal = Proposal(
        event.actor, event.at, d["outcome"], tuple(d.get("agreed_actions", ())), tuple(d.get("owned", ()))
    )


def _proposal_answered(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
    esc.proposal = None


def _ended(status: str):
    def apply(esc: Escalation, event: StoredEvent, d: dict[str, Any]) -> None:
        esc.proposal = None
        esc.status = status
        esc.ended_at = event.at
        esc.outcome = d.get("outcome") or d.get("reason")
        esc.agreed_actions = tuple(d.get("agreed_actions", ()))
        esc.owned_actions = tuple(d.get("owned", ()))
        esc.actions_done = {}
        esc.stage.ended_at = event.at
        esc.stage.ended_by = status

    return apply


_ENDINGS = ("resolved", "withdrawn", "closed")

_APPLY = {
    "stage_started": _stage_started,
    "participant_added": _participant_added,
    "manager_requested": _person_requested,
    "role_requested": _person_requested,
    "note_added": _note_added,
    "note_corrected": _note_corrected,
    "note_detailed": _note_detailed,
    "milestone_met": _milestone_met,
    "reopened": _reopened,
    "action_done": _action_done,
    "due_brought_forward": _due_changed,
    "marked_urgent": _marked_urgent,
    "resolution_proposed": _proposed,
    "proposal_not_agreed": _proposal_answered,
    "resolved": _ended(RESOLVED),
    "withdrawn": _ended(WITHDRAWN),
    "closed": _ended(CLOSED),
}
