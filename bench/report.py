"""The learning report at scale: 100,000 escalations over five years under five policies,
bulk-loaded as copies of histories played through the core, then one policy's report for one
year (a few thousand differences): built from storage, and rendered as HTML."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from adapters.report import render_html
from adapters.sample_history import play_history, sample_people
from bot.calendar import LONDON, WorkingCalendar
from bot.clock import ManualClock
from bot.core import EscalationBot
from bot.policy import PolicyLibrary
from bot.report import Period, build_report
from bot.storage import Storage

ESCALATIONS = 100_000
TEMPLATES = 250  # histories played through the core, each copied ESCALATIONS / TEMPLATES times
START = datetime(2022, 1, 3, 9, tzinfo=LONDON)
YEARS = 5


def _templates(folder: Path, policies: PolicyLibrary) -> Storage:
    store = Storage.open(f"sqlite:///{folder / 'templates.db'}")
    store.upsert_people(sample_people())
    clock = ManualClock(START)
    bot = EscalationBot(store=store, policies=policies, clock=clock)
    play_history(bot, clock, count=TEMPLATES, first=START, last=START + timedelta(days=60))
    return store


def _fill(store: Storage, templates: Storage) -> None:
    """Copies of the templates' escalations and events, each copy moved on in time."""
    escalations = templates.db.execute(
        "SELECT id, policy_id, case_reference, status, stage, due, opened_at, updated_at, participants"
        " FROM escalations ORDER BY number"
    ).fetchall()
    events = templates.db.execute(
        "SELECT escalation_id, at, kind, actor, data FROM events ORDER BY id"
    ).fetchall()
    by_escalation: dict[str, list[tuple]] = {}
    for row in events:
        by_escalation.setdefault(row[0], []).append(row)
    copies = ESCALATIONS // len(escalations)
    step = timedelta(days=365 * YEARS) / copies
    conn = store.db.conn
    number = 0
    for copy in range(copies):
        shift = step * copy
        esc_rows, event_rows = [], []
        for esc_id, policy, ref, status, stage, due, opened, updated, participants in escalations:
            number += 1
            new_id = f"E-{number:06d}"
            esc_rows.append(
                (
                    new_id,
                    number,
                    policy,
                    ref,
                    status,
                    stage,
                    _moved(due, shift),
                    _moved(opened, shift),
                    _moved(updated, shift),
                    participants,
                )
            )
            event_rows += [
                (new_id, _moved(at, shift), kind, actor, _moved_data(data, shift))
                for _, at, kind, actor, data in by_escalation[esc_id]
            ]
        with store.transaction():
            conn.executemany(
                "INSERT INTO escalations (id, number, policy_id, case_reference, status, stage, due,"
                " opened_at, updated_at, participants) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                esc_rows,
            )
            conn.executemany(
                "INSERT INTO events (escalation_id, at, kind, actor, data) VALUES (?, ?, ?, ?, ?)", event_rows
            )


def _moved_data(data: str, shift: timedelta) -> str:
    """Due times inside an event move with it (a stage's due, and its milestones')."""
    if '"due"' not in data:
        return data
    d = json.loads(data)
    for key in ("due", "policy_due"):
        d[key] = _moved(d.get(key), shift)
    for milestone in d.get("milestones", ()):
        milestone["due"] = _moved(milestone["due"], shift)
    return json.dumps(d, sort_keys=True)


def _moved(text: str | None, shift: timedelta) -> str | None:
    return (datetime.fromisoformat(text) + shift).isoformat(timespec="seconds") if text else None


def run(folder: Path) -> dict[str, float]:
    """Seconds to build one policy's report for one year among 100,000 escalations, and to render it."""
    policies = PolicyLibrary.load()
    templates = _templates(folder, policies)
    store = Storage.open(f"sqlite:///{folder / 'report.db'}")
    store.upsert_people(sample_people())
    _fill(store, templates)
    templates.close()
    period = Period(date(2024, 1, 1), date(2024, 12, 31))
    started = time.perf_counter()
    report = build_report(
        store,
        policies.get("camden"),
        period,
        now=datetime(2027, 1, 4, 9, tzinfo=LONDON),
        calendar=WorkingCalendar(),
    )
    built = time.perf_counter() - started
    started = time.perf_counter()
    html = render_html(report)
    rendered = time.perf_counter() - started
    store.close()
    print(
        f"report: {report.raised:,} Camden differences in 2024 among {ESCALATIONS:,}; "
        f"HTML of {len(html) / 1e6:.1f} MB"
    )
    return {"report for a year among 100,000 (s)": built, "report rendered as HTML (s)": rendered}
