"""Stage people at scale: finding a role's holders, the questions waiting on a role, and starting a
stage that names a role, with a million rows in each table they read."""

from __future__ import annotations

import json
import statistics
import time
from datetime import datetime
from pathlib import Path

from bot.calendar import LONDON
from bot.clock import ManualClock
from bot.commands import EscalateStage, RaiseEscalation
from bot.core import EscalationBot
from bot.people import Person, Role, agency_key
from bot.policy import PolicyLibrary
from bot.storage import Storage

ROWS = 1_000_000
AGENCIES = 20_000
ROLES = [r.value for r in Role if r is not Role.PARTNERSHIP_ADMIN]


def _fill(store: Storage) -> None:
    """A million role rows over 20,000 agencies, and a million questions of which 50 are open."""
    conn = store.db.conn
    with store.transaction():
        conn.executemany(
            "INSERT INTO people (id, name, agency, role, admin) VALUES (?, ?, ?, ?, 0)",
            ((f"r{i}", f"Role holder {i}", f"Agency {i % AGENCIES}", "Lead") for i in range(ROWS // 4)),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO role_holders (role, agency_key, person_id, source)"
            " VALUES (?, ?, ?, 'directory')",
            (
                (ROLES[i % len(ROLES)], agency_key(f"Agency {(i // len(ROLES)) % AGENCIES}"), f"r{i // 4}")
                for i in range(ROWS)
            ),
        )
        conn.executemany(
            "INSERT INTO questions (escalation_id, person_id, kind, data, status) VALUES (?, ?, ?, ?, ?)",
            (
                (
                    f"E-{i:07d}",
                    f"r{i % (ROWS // 4)}",
                    "role" if i % 2 else "manager",
                    json.dumps({"role": "named_lead", "agency": f"Agency {i % AGENCIES}", "side": "other"}),
                    "open" if i % 20_000 == 1 else "answered",
                )
                for i in range(ROWS)
            ),
        )


def run(folder: Path) -> dict[str, float]:
    """Median times, in milliseconds, of the three reads a role stage makes."""
    store = Storage.open(f"sqlite:///{folder / 'roles.db'}")
    _fill(store)
    results: dict[str, float] = {}

    timings = []
    for i in range(500):
        started = time.perf_counter()
        found = store.role_holders(Role.NAMED_LEAD, f"agency {(i * 37) % AGENCIES}")
        timings.append((time.perf_counter() - started) * 1000)
        assert found is not None
    results["role holders among 1,000,000 rows (ms)"] = statistics.median(timings)

    timings = []
    for _ in range(50):
        started = time.perf_counter()
        waiting = store.open_questions(kind="role")
        timings.append((time.perf_counter() - started) * 1000)
    assert len(waiting) == 50, len(waiting)
    results["open role questions among 1,000,000 (ms)"] = statistics.median(timings)

    clock = ManualClock(datetime(2026, 12, 1, 10, tzinfo=LONDON))
    store.upsert_people(
        [
            Person("alex", "Alex", "Camden CS", "Social Worker", manager_id="jo"),
            Person("jo", "Jo", "Camden CS", "Team Manager"),
            Person("nina", "Nina", "Camden CS", "Named Lead", roles=(Role.NAMED_LEAD,)),
            Person("sam", "Sam", "Whittington Health", "Health Visitor", manager_id="priya"),
            Person("priya", "Priya", "Whittington Health", "Team Lead"),
            Person("nora", "Nora", "Whittington Health", "Named Nurse", roles=(Role.NAMED_LEAD,)),
        ]
    )
    bot = EscalationBot(store=store, policies=PolicyLibrary.load(), clock=clock)
    timings = []
    for i in range(50):
        bot.handle(
            RaiseEscalation(
                actor="alex",
                policy_id="camden",
                case_reference=f"CIN-{i}",
                counterpart="sam",
                category="threshold",
                issue="Issue",
                risk="Risk",
                outcome_wanted="Outcome",
            )
        )
        esc_id = f"E-{i + 1:04d}"
        bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id=esc_id))
        started = time.perf_counter()
        bot.handle(
            EscalateStage(reason="No agreement", actor="alex", escalation_id=esc_id)
        )  # stage 3: named leads
        timings.append((time.perf_counter() - started) * 1000)
    results["starting a named-lead stage (ms)"] = statistics.median(timings)
    store.close()
    return results
