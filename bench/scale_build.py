"""The scaling benchmark's database (bench/scale.py): what it holds and how it is built.

A few differences are raised (and noted, and swept) through the core under the Camden policy with
a fixed clock; their rows (the escalation, its events, who is on it, its pending reminders) are
copied with new ids and new people through `Storage`'s public methods, so any engine can be built.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.calendar import LONDON
from bot.clock import ManualClock
from bot.commands import AddNote, RaiseEscalation
from bot.core import EscalationBot
from bot.people import Person
from bot.policy import PolicyLibrary
from bot.storage import EscalationRow, ReminderRow, Storage, StoredEvent

DUE = 1_000
NOW = datetime(2027, 3, 11, 12, tzinfo=LONDON)  # a Thursday, with no bank holiday near
BATCH = 5_000  # escalations copied per transaction
ESCALATIONS_PER_PERSON = 40  # the directory grows with the escalations: a twentieth as many people
TEAM = 25  # practitioners per line manager
AGENCY = 100  # practitioners per agency

ISSUE = (
    "Health visiting plans to close the case at the next contact, although the family has missed "
    "three appointments since the birth and the GP has raised concerns about the baby's weight. "
    "Children's social care asked for the case to stay open until the child in need review; the "
    "health visiting team says the threshold for universal plus is no longer met."
)
RISK = (
    "Baby of 8 months, weight falling across two centiles; parents not engaging with services; "
    "older sibling on a child in need plan for neglect."
)
OUTCOME = "Keep health visiting open until the review, with a joint home visit before then."
NOTE = (
    "Spoke by phone. Health visiting will check the last weight recorded by the GP and will not "
    "close the case before we speak again on Friday. Both agree a joint visit would help."
)


@dataclass(frozen=True)
class Template:
    """A difference raised through the core, to be copied: its rows as the core left them."""

    row: EscalationRow
    events: list[StoredEvent]
    reminders: list[ReminderRow]


# Raised through the core at these times, then swept at SWEPT: at NOW, a FRESH difference has no
# reminder due; each of the others has exactly one: the heads-up, the first overdue chase (its
# "due now" already sent), or an urgent stage's "due now" (its heads-up already sent).
FRESH, AHEAD, OVERDUE, URGENT = "fresh", "ahead", "overdue", "urgent"
RAISED = {
    OVERDUE: datetime(2027, 3, 3, 10, tzinfo=LONDON),
    AHEAD: datetime(2027, 3, 4, 10, tzinfo=LONDON),
    FRESH: datetime(2027, 3, 10, 10, tzinfo=LONDON),
    URGENT: datetime(2027, 3, 10, 11, tzinfo=LONDON),
}
SWEPT = datetime(2027, 3, 11, 8, 30, tzinfo=LONDON)
# The measured sweeps, each of its own DUE reminders: the median of three, on a machine others share.
SWEEPS = (NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2))
DUE_KINDS = (AHEAD, OVERDUE, URGENT)
RAISER, OTHER, RAISER_MANAGER, OTHER_MANAGER = "t-raiser", "t-other", "t-raiser-mgr", "t-other-mgr"
TEMPLATE_CASE = "CIN-TEMPLATE-1"


# -- the directory ---------------------------------------------------------------------------------


def people_for(escalations: int) -> int:
    """How many practitioners a directory holds for this many escalations (whole agencies)."""
    wanted = max(escalations // ESCALATIONS_PER_PERSON * 2, 2 * AGENCY)
    return wanted // AGENCY * AGENCY


def practitioner(k: int) -> Person:
    return Person(
        f"p{k}",
        f"Practitioner {k}",
        f"Agency {k // AGENCY}",
        "Social Worker",
        manager_id=f"m{k // TEAM}",
        email=f"p{k}@agency{k // AGENCY}.example.org",
    )


def manager(t: int) -> Person:
    return Person(f"m{t}", f"Manager {t}", f"Agency {t * TEAM // AGENCY}", "Team Manager")


def grow_directory(store: Storage, practitioners: int) -> None:
    """Practitioners p0.. with their line managers, and one partnership admin (digests are planned)."""
    with store.transaction():
        for start in range(0, practitioners, BATCH):
            ks = range(start, min(start + BATCH, practitioners))
            store.upsert_people([practitioner(k) for k in ks])
            store.upsert_people([manager(t) for t in {k // TEAM for k in ks}])
        store.upsert_people(
            [Person("admin", "Partnership Admin", "Partnership", "Business Manager", admin=True)]
        )


def pair(number: int, practitioners: int) -> tuple[int, int]:
    """The raiser and the other professional of escalation `number`: in different agencies."""
    raiser = (number * 7919) % practitioners
    agencies = practitioners // AGENCY
    shift = AGENCY * (1 + (number // 7) % (agencies - 1))
    return raiser, (raiser + shift) % practitioners


# -- the templates: real raises through the core ---------------------------------------------------


def templates(library: PolicyLibrary) -> dict[str, Template]:
    """One difference of each kind, raised, noted and swept through the core in a scratch database."""
    store = Storage.open("sqlite:///:memory:")
    store.upsert_people(
        [
            Person(RAISER, "Raiser", "Raising Agency", "Social Worker", manager_id=RAISER_MANAGER),
            Person(OTHER, "Other", "Other Agency", "Health Visitor", manager_id=OTHER_MANAGER),
            Person(RAISER_MANAGER, "Raiser's Manager", "Raising Agency", "Team Manager"),
            Person(OTHER_MANAGER, "Other's Manager", "Other Agency", "Team Manager"),
        ]
    )
    clock = ManualClock(min(RAISED.values()))
    bot = EscalationBot(store=store, policies=library, clock=clock)
    ids = {}
    for kind, at in sorted(RAISED.items(), key=lambda item: item[1]):
        clock.set(at)
        bot.handle(
            RaiseEscalation(
                actor=RAISER, policy_id="camden", case_reference=TEMPLATE_CASE, counterpart=OTHER,
                category="threshold", issue=ISSUE, risk=RISK, outcome_wanted=OUTCOME, urgent=kind == URGENT,
                platform="slack",
            )
        )  # fmt: skip
        ids[kind] = store.next_escalation_number() - 1
        clock.set(at + timedelta(hours=2))
        bot.handle(AddNote(actor=OTHER, escalation_id=f"E-{ids[kind]:04d}", discussed=NOTE))
    clock.set(SWEPT)
    bot.run_due(SWEPT)
    made = {}
    for kind, number in ids.items():
        esc_id = f"E-{number:04d}"
        row = store.escalation_row(esc_id)
        assert row is not None
        pending = store.pending_reminders(esc_id)
        due = [r for r in pending if r.due_at <= NOW]
        assert len(due) == (0 if kind == FRESH else 1), (kind, pending)
        made[kind] = Template(row, store.events(esc_id), pending)
    store.close()
    return made


def _swap(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_swap(v, names) for v in value]
    if isinstance(value, dict):
        return {k: (v if k == "policy" else _swap(v, names)) for k, v in value.items()}
    return value


def copy_template(
    store: Storage, template: Template, number: int, practitioners: int, due_at: datetime = NOW
) -> None:
    """Write one escalation as the core would have: the template's rows for new people and ids;
    its reminder due at NOW (if any) falls due at `due_at` instead."""
    r, c = pair(number, practitioners)
    raiser, other = practitioner(r), practitioner(c)
    esc_id = f"E-{number:04d}"
    names = {
        RAISER: raiser.id,
        OTHER: other.id,
        RAISER_MANAGER: raiser.manager_id or "",
        OTHER_MANAGER: other.manager_id or "",
        TEMPLATE_CASE: f"CIN-{number}",
        template.row.id: esc_id,
    }
    row = replace(
        template.row,
        id=esc_id,
        case_reference=f"CIN-{number}",
        participants=tuple(_swap(list(template.row.participants), names)),
        raiser_agency=raiser.agency,
        counterpart_agency=other.agency,
    )
    store.save_escalation(row, number=number)
    store.append_events(
        esc_id,
        [(e.at, e.kind, names.get(e.actor, e.actor), _swap(e.data, names)) for e in template.events],
    )
    # The reminder due by NOW (the template's one due) is moved to `due_at`, for a later sweep.
    planned = [
        (x.stage, x.kind, due_at if x.due_at <= NOW < due_at else x.due_at, x.data)
        for x in template.reminders
    ]
    store.add_reminders(esc_id, planned)


def build(url: str, size: int) -> dict[str, float]:
    """Grow the database at `url` to `size` escalations: DUE of the new ones for each of SWEEPS
    with one reminder due by then (and not before the sweep before it), the rest fresh."""
    started = time.perf_counter()
    library = PolicyLibrary.load()
    made = templates(library)
    store = Storage.open(url)
    have = store.next_escalation_number() - 1
    if have > size:
        raise SystemExit(f"bench.scale: the database already holds {have:,} escalations, more than {size:,}")
    practitioners = people_for(size)
    grow_directory(store, practitioners)
    # Digests and the monthly report are planned now, so each measured sweep sends only reminders.
    bot = EscalationBot(store=store, policies=library, clock=ManualClock(NOW - timedelta(minutes=1)))
    bot.run_due()
    new, due = size - have, DUE * len(SWEEPS)
    every = max(new // due, 1)
    for start in range(have + 1, size + 1, BATCH):
        with store.transaction(), store.sql.bulk():
            for number in range(start, min(start + BATCH, size + 1)):
                nth, k = number - have - 1, (number - have - 1) // every
                if nth % every == every // 2 and k < due:  # spread evenly through the new ones
                    at = SWEEPS[k % len(SWEEPS)]
                    kind = DUE_KINDS[(k // len(SWEEPS)) % len(DUE_KINDS)]
                    copy_template(store, made[kind], number, practitioners, at)
                else:
                    copy_template(store, made[FRESH], number, practitioners)
        done = min(start + BATCH - 1, size)
        if done == size or (done - have) % 100_000 == 0:
            print(f"  {done:,} of {size:,}", file=sys.stderr, flush=True)
    if store.sql.name == "postgresql":
        # As autovacuum would have by now on a server in use: without its statistics on the rows
        # just loaded, PostgreSQL plans the sweep's reads as scans of whole tables; and autovacuum,
        # left to it, works through the new rows during the measurements.
        store.sql.execute("VACUUM ANALYZE")
        # The writes reach the disk now, not in a checkpoint during the measurements (as the
        # SQLite file is synced): a build of 100,000 leaves a gigabyte of WAL behind it.
        store.sql.execute("CHECKPOINT")
    store.close()
    return {"build": time.perf_counter() - started, "memory": peak_mb()}


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
