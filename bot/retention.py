"""How long a closed escalation's content is kept, and erasing it when that time is up.

The partnership sets a period per policy (`RETENTION`, e.g. `6y` or `6y,enfield=7y`); it runs from
when the escalation closed. Then its content goes: the case reference, what was said, who said it,
every note. What stays is what the partnership's learning report counts (the policy snapshot, the
category, urgency, each side's agency, each stage's start, due time and end, how it ended, how many
actions were agreed) and an `erased` entry saying when and under what rule. The report for an old
period therefore gives the same counts after erasure as before.

The erasure is a planned job like the digests (a row in the reminders table, each night at 01:00
London time), so it survives restarts and wakes the background loop; it sends nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.calendar import LONDON
from bot.escalation import OTHER, RAISING, Escalation
from bot.storage import Storage, StoredEvent

JOB = "retention"
NO_ESCALATION = ""
RUN_AT = time(1, 0)  # London time: a quiet hour, and before the 9am digests
BATCH = 100  # escalations erased per transaction, so the server's writes are never held up long
ERASED = "erased"  # stands for every person in an erased history
DEFAULT_RETENTION = "6y"


class RetentionError(ValueError):
    """A retention setting that cannot be read; the message says what to write instead."""


@dataclass(frozen=True)
class Keep:
    """A retention period: whole years and months after an escalation closed."""

    years: int = 0
    months: int = 0

    def describe(self) -> str:
        parts = [(self.years, "year"), (self.months, "month")]
        return " and ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 months"

    def before(self, now: datetime) -> datetime:
        """The moment `now` less this period (London dates; the 29th of February becomes the 28th)."""
        return self._shift(now, -1)

    def after(self, moment: datetime) -> datetime:
        """The moment this period after `moment`."""
        return self._shift(moment, 1)

    def _shift(self, moment: datetime, sign: int) -> datetime:
        local = moment.astimezone(LONDON)
        months = local.year * 12 + local.month - 1 + sign * (self.years * 12 + self.months)
        year, month = divmod(months, 12)
        day = local.day
        while True:
            try:
                moved = date(year, month + 1, day)
                break
            except ValueError:
                day -= 1
        return datetime.combine(moved, local.time(), tzinfo=LONDON)


@dataclass(frozen=True)
class Retention:
    """The periods the partnership set: one for every policy, and any policy's own."""

    default: Keep = Keep(years=6)
    by_policy: dict[str, Keep] = field(default_factory=dict)

    def keep(self, policy_id: str) -> Keep:
        return self.by_policy.get(policy_id, self.default)

    def rule(self, policy_id: str) -> str:
        """The rule in words, as the erasure entry records it."""
        whose = f"the {policy_id} policy's" if policy_id in self.by_policy else "the partnership's default"
        return f"retention: {self.keep(policy_id).describe()} after closing ({whose} RETENTION setting)"


_PERIOD = re.compile(r"^(?:(\d+)\s*y(?:ears?)?)?\s*(?:(\d+)\s*m(?:onths?)?)?$")


def _keep(text: str, where: str) -> Keep:
    found = _PERIOD.match(text.strip().lower())
    if not text.strip() or not found or not any(found.groups()):
        raise RetentionError(
            f"RETENTION: {where}{text.strip()[:20]!r} is not a period; write e.g. 6y, 7y or 18m"
        )
    keep = Keep(int(found.group(1) or 0), int(found.group(2) or 0))
    if keep.years * 12 + keep.months < 1:
        raise RetentionError(f"RETENTION: {where}a period must be at least a month")
    return keep


def parse_retention(text: str, policy_ids: list[str] | None = None) -> Retention:
    """Read `6y` or `6y,enfield=7y,camden=18m` (a bare period is every other policy's)."""
    default, by_policy = _keep(DEFAULT_RETENTION, ""), {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "=" in part:
            policy_id, period = (x.strip() for x in part.split("=", 1))
            if policy_ids is not None and policy_id not in policy_ids:
                known = ", ".join(policy_ids)
                raise RetentionError(f"RETENTION: no policy {policy_id[:40]!r}; known: {known}")
            by_policy[policy_id] = _keep(period, f"{policy_id}: ")
        else:
            default = _keep(part, "")
    return Retention(default, by_policy)


@dataclass(frozen=True)
class Due:
    """A closed escalation whose time is up, and the rule that says so."""

    escalation_id: str
    policy_id: str
    ended_at: datetime
    rule: str


def due(store: Storage, retention: Retention, now: datetime, *, limit: int = BATCH) -> list[Due]:
    """Closed escalations whose retention period has run out, longest closed first."""
    found: list[Due] = []
    groups: list[tuple[list[str] | None, datetime]] = [
        ([p], keep.before(now)) for p, keep in retention.by_policy.items()
    ]
    groups.append((None, retention.default.before(now)))
    for policies, cutoff in groups:
        rows = store.closed_unerased(
            ended_before=cutoff, policies=policies, other_than=list(retention.by_policy), limit=limit
        )
        found += [
            Due(r.id, r.policy_id, r.ended_at or r.updated_at, retention.rule(r.policy_id)) for r in rows
        ]
    return sorted(found, key=lambda d: (d.ended_at, d.escalation_id))[:limit]


def erase(store: Storage, item: Due, now: datetime) -> None:
    """Erase one closed escalation's content, keeping what the learning report counts."""
    events = store.events(item.escalation_id)
    if not events:
        return
    esc = Escalation.from_events(events)
    agencies = {side: esc.agency_of(side, store.person) for side in (RAISING, OTHER)}
    kept = [k for k in (_scrub(e, agencies) for e in events) if k is not None]
    detail = {"closed_at": item.ended_at.isoformat(), "policy": item.policy_id}
    store.erase_escalation(item.escalation_id, kept, now=now, rule=item.rule, detail=detail)


TRANSPORT_COPIES_KEPT = timedelta(days=90)


def run(store: Storage, retention: Retention, now: datetime) -> int:
    """Erase everything whose time is up, a batch per transaction; returns how many."""
    erased = 0
    while batch := due(store, retention, now):
        with store.transaction():
            for item in batch:
                erase(store, item, now)
        erased += len(batch)
    shortest = min([retention.default, *retention.by_policy.values()], key=lambda k: k.years * 12 + k.months)
    # Delivered messages are copies of what the record holds: kept long enough to place a late
    # reply under its case message, not for the records' years.
    store.forget_transport_copies(before=max(shortest.before(now), now - TRANSPORT_COPIES_KEPT))
    if erased:
        store.settle_erasure()
    return erased


# What of each kind of event the report reads; every other kind of event goes whole.
_KEPT: dict[str, tuple[str, ...]] = {
    "raised": ("policy", "category", "urgent", "immediate_risk", "platform"),
    "stage_started": ("number", "policy_due", "due", "due_basis", "milestones"),
    "due_brought_forward": ("due", "due_basis"),
    "marked_urgent": ("due", "due_basis"),
    "reopened": ("stage",),
    "resolved": (),
    "closed": (),
    "withdrawn": (),
}


def _scrub(event: StoredEvent, agencies: dict[str, str | None]) -> StoredEvent | None:
    keys = _KEPT.get(event.kind)
    if keys is None:
        return None
    d = event.data
    data: dict[str, Any] = {k: d[k] for k in keys if k in d}
    if event.kind == "raised":
        data |= {
            "case_reference": "[erased]",
            "counterpart": ERASED,
            "issue": "",
            "risk": "",
            "outcome_wanted": "",
            "agencies": {side: a for side, a in agencies.items() if a},
        }
    elif event.kind in ("resolved", "closed", "withdrawn"):
        # The report counts agreed actions (its themes by month): their number stays, their words go.
        actions = list(d.get("agreed_actions", ()))
        actions += [o["what"] for o in d.get("owned", ()) if o.get("what") and o["what"] not in actions]
        data["agreed_actions"] = [f"Agreed action {n} (erased)" for n in range(1, len(actions) + 1)]
        if d.get("proposed_by"):
            data["proposed_by"] = ERASED
    return StoredEvent(event.seq, event.escalation_id, event.at, event.kind, ERASED, data)


def next_time(after: datetime) -> datetime:
    """01:00 London time, strictly after `after`."""
    day = after.astimezone(LONDON).date()
    at = datetime.combine(day, RUN_AT, tzinfo=LONDON)
    return at if at > after else datetime.combine(day + timedelta(days=1), RUN_AT, tzinfo=LONDON)


def first_due(store: Storage, retention: Retention) -> datetime | None:
    """When the first closed escalation still holding its content falls due for erasure."""
    groups: list[tuple[list[str] | None, Keep]] = [([p], k) for p, k in retention.by_policy.items()]
    groups.append((None, retention.default))
    times = []
    for policies, keep in groups:
        ended = store.earliest_closed_unerased(policies=policies, other_than=list(retention.by_policy))
        if ended is not None:
            times.append(keep.after(ended))
    return min(times, default=None)


def _describe(retention: Retention) -> str:
    return ",".join(
        [retention.default.describe(), *(f"{p}={k.describe()}" for p, k in retention.by_policy.items())]
    )


def plan_missing(store: Storage, retention: Retention, now: datetime) -> None:
    """Plan the next erasure for the night after the first closed escalation falls due (nothing
    while none is closed); a changed RETENTION setting plans it afresh."""
    setting = _describe(retention)
    planned = store.pending_of_kind(JOB)
    if planned and all(r.data.get("setting") == setting for r in planned):
        return
    for reminder in planned:
        store.finish_reminder(reminder.id, "cancelled")
    _plan(store, retention, now, setting)


def _plan(store: Storage, retention: Retention, now: datetime, setting: str) -> None:
    first = first_due(store, retention)
    if first is not None:
        store.add_reminders(NO_ESCALATION, [(0, JOB, next_time(max(first, now)), {"setting": setting})])


def nightly(store: Storage, retention: Retention, now: datetime) -> None:
    """The planned job: erase what is due, then plan the next."""
    run(store, retention, now)
    _plan(store, retention, now, _describe(retention))
