"""Lists at regional scale: a million escalations (a tenth open, a twentieth of those overdue),
each with two people and two agencies; one person's list, a lead's agency list, and the
partnership admin's whole list, overdue first, one page each."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.listing import ListFilter, Scope
from bot.people import agency_key
from bot.storage import Storage

ROWS = 1_000_000
PEOPLE = 50_000
AGENCIES = 2_000
NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)


def _fill(store: Storage) -> None:
    conn = store.db.conn
    start = NOW - timedelta(days=3650)

    def rows():
        for i in range(ROWS):
            opened = start + timedelta(minutes=5 * i)
            is_open = i % 10 == 0
            due = (NOW - timedelta(days=1 + i % 9)) if is_open and i % 200 == 0 else NOW + timedelta(days=3)
            yield (
                f"E-{i:07d}", i, "camden", f"CIN-{i}", "open" if is_open else "resolved", 1,
                due.isoformat() if is_open else None, opened.isoformat(), opened.isoformat(),
                f'["p{i % PEOPLE}", "p{(i * 7 + 1) % PEOPLE}"]', "other", 0, 0, 1,
                f"Agency {i % AGENCIES}", f"Agency {(i * 3 + 1) % AGENCIES}",
            )  # fmt: skip

    with store.transaction():
        conn.executemany(
            "INSERT INTO escalations (id, number, policy_id, case_reference, status, stage, due, opened_at,"
            " updated_at, participants, category, urgent, immediate_risk, highest_stage, raiser_agency,"
            " counterpart_agency) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO escalation_people VALUES (?, ?)",
            ((f"E-{i:07d}", f"p{p}") for i in range(ROWS) for p in (i % PEOPLE, (i * 7 + 1) % PEOPLE)),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO escalation_agencies VALUES (?, ?, ?)",
            (
                (f"E-{i:07d}", agency_key(f"Agency {a}"), side)
                for i in range(ROWS)
                for side, a in (("raising", i % AGENCIES), ("other", (i * 3 + 1) % AGENCIES))
            ),
        )


def _time(call) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(folder: Path) -> dict[str, float]:
    """Median ms of one page of each list over a million escalations."""
    store = Storage.open(f"sqlite:///{folder / 'lists.db'}")
    _fill(store)
    every = ListFilter()
    results = {
        "one person's list among 1,000,000 (ms)": _time(
            lambda: store.list_escalations(Scope(person_id="p123"), every, now=NOW, limit=50)
        ),
        "a lead's agency list among 1,000,000 (ms)": _time(
            lambda: store.list_escalations(Scope(person_id="x", lead_agencies=("Agency 7",)), every, now=NOW)
        ),
        "the admin's whole list, overdue first, among 1,000,000 (ms)": _time(
            lambda: store.list_escalations(Scope(everything=True), every, now=NOW, limit=50)
        ),
        "the admin's overdue list among 1,000,000 (ms)": _time(
            lambda: store.list_escalations(Scope(everything=True), ListFilter(overdue=True), now=NOW)
        ),
    }
    store.close()
    return results
