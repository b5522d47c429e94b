"""Retention: a year of differences made through the core's commands; six years after each closed,
the background step erases its content. The learning report for that year counts the same after
erasure as before, and what is left says when and under what rule it was erased."""

from __future__ import annotations

from dataclasses import astuple
from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.sample_history import play_history, sample_people
from bot import retention
from bot.calendar import WorkingCalendar
from bot.clock import ManualClock
from bot.core import EscalationBot
from bot.outbox import deliver
from bot.policy import PolicyLibrary
from bot.report import Period, Report, build_report
from bot.retention import Keep, RetentionError, parse_retention
from bot.storage import Storage
from support import london

CALENDAR = WorkingCalendar()
FIRST, LAST = london(2026, 1, 5, 9), london(2026, 6, 30, 17)
POLICIES = ("camden", "enfield", "redbridge", "kingston-richmond", "cambridgeshire-peterborough")
PERIODS = (Period(date(2026, 1, 1), date(2026, 12, 31)), Period(date(2026, 1, 1), date(2026, 3, 31)))


def counts(report: Report) -> tuple:
    """Every count and figure the learning report shows, leaving out only the words erasure takes."""
    return (
        report.raised, report.resolved, report.withdrawn, report.still_open,
        report.resolved_at_stage(), report.reached_stage(), [astuple(s) for s in report.stage_times],
        len(report.overdue), report.overdue_median(), report.overdue_worst(),
        report.by_category(), report.by_agencies(), report.by_urgency(), len(report.collated),
        report.categories_by_month(),
        {month: len(actions) for month, actions in report.actions_by_month().items()},
        [(d.id, d.status, d.stage, d.ended_at, d.ended_at_stage, d.overdue_working_days, d.collated)
         for d in report.differences],
    )  # fmt: skip


def reports(store: Storage, policies: PolicyLibrary, now) -> dict:
    return {
        (p, period): build_report(store, policies.get(p), period, now=now, calendar=CALENDAR)
        for p in POLICIES
        for period in PERIODS
    }


@pytest.fixture
def history(tmp_path: Path, policies: PolicyLibrary):
    store = Storage.open(f"sqlite:///{tmp_path / 'history.db'}")
    store.upsert_people(sample_people())
    clock = ManualClock(FIRST)
    bot = EscalationBot(store=store, policies=policies, clock=clock, retention=parse_retention("6y"))
    played = play_history(bot, clock, count=60, first=FIRST, last=LAST)
    deliver(store, clock.now(), lambda message: None)
    yield store, bot, clock, played, tmp_path / "history.db"
    store.close()


def test_six_years_after_closing_the_content_goes_and_the_report_counts_the_same(history, policies):
    store, bot, clock, played, path = history
    closed = sorted((p for p in played if p.ended), key=lambda p: p.ended_at)
    still_open = [p for p in played if not p.ended]
    assert closed and still_open
    before = {key: counts(r) for key, r in reports(store, policies, london(2027, 1, 4, 9)).items()}
    assert sum(before[p, PERIODS[0]][0] for p in POLICIES) == len(played)

    # The background step plans the erasure for the night after the first closed one falls due.
    bot.run_due()
    (planned,) = store.pending_of_kind(retention.JOB)
    first_due = Keep(years=6).after(closed[0].ended_at)
    assert planned.due_at == retention.next_time(first_due)

    # Just before that, nothing would go; once past the last, every closed one goes, and only those.
    clock.set(first_due - timedelta(minutes=1))
    assert retention.due(store, bot.retention, clock.now()) == []
    clock.set((Keep(years=6).after(closed[-1].ended_at) + timedelta(days=1)).replace(microsecond=0))
    listed = retention.due(store, bot.retention, clock.now(), limit=1000)
    assert [d.escalation_id for d in listed] == [p.id for p in closed]
    assert listed[0].rule == "retention: 6 years after closing (the partnership's default RETENTION setting)"
    bot.run_due()  # the planned job runs, erases what is due, and plans nothing more
    assert retention.due(store, bot.retention, clock.now()) == []
    assert store.pending_of_kind(retention.JOB) == []

    after = {key: counts(r) for key, r in reports(store, policies, clock.now()).items()}
    assert after == before

    # What is left of one: no case reference, no people, no words; an entry saying when and why.
    erased = closed[0]
    row = store.escalation_row(erased.id)
    assert (row.case_reference, row.participants, row.status) == ("[erased]", (), erased.ended)
    events = store.events(erased.id)
    assert {e.actor for e in events} == {"erased", "bot"}
    assert not any(kind in {"note_added", "participant_added"} for kind in (e.kind for e in events))
    assert events[-1].kind == "erased" and events[-1].at == clock.now()
    assert events[-1].data["rule"] == listed[0].rule
    (first_log, *_) = store.erasures()
    assert first_log[:3] == (clock.now(), erased.id, listed[0].rule)
    # The open ones are untouched.
    assert store.escalation_row(still_open[0].id).case_reference == still_open[0].case_reference

    # Nothing of the erased content is left in the database file (deleted pages are zeroed).
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = path.read_bytes()
    assert erased.case_reference.encode() not in raw
    for p in still_open:
        assert p.case_reference.encode() in raw


def test_the_record_of_an_erased_escalation_says_so(history, policies):
    store, bot, clock, played, _ = history
    closed = next(p for p in played if p.ended)
    clock.set(Keep(years=6).after(closed.ended_at) + timedelta(days=1))
    retention.run(store, bot.retention, clock.now())
    admin = next(a.id for a in store.admins(closed.policy_id))
    text = bot.export(admin, closed.id)
    assert "erased on" in text and "retention: 6 years after closing" in text
    assert closed.case_reference not in text and "Spoke by phone" not in text
    assert bot.show(admin, closed.id) == text.split("\n\n", 1)[1].strip()


def test_a_policy_can_keep_longer_and_a_changed_setting_replans(history, policies):
    store, bot, clock, played, _ = history
    closed = [p for p in played if p.ended]
    bot.retention = parse_retention("6y,camden=10y", list(policies.ids()))
    clock.set(Keep(years=7).after(max(p.ended_at for p in closed)))
    listed = retention.due(store, bot.retention, clock.now(), limit=1000)
    assert {d.policy_id for d in listed} == {p.policy_id for p in closed} - {"camden"}
    bot.run_due()
    (tonight,) = store.pending_of_kind(retention.JOB)
    assert tonight.due_at == retention.next_time(clock.now())
    clock.set(tonight.due_at)
    bot.run_due()
    assert retention.due(store, bot.retention, clock.now()) == []
    (planned,) = store.pending_of_kind(retention.JOB)
    first_camden = min(p.ended_at for p in closed if p.policy_id == "camden")
    assert planned.due_at == retention.next_time(Keep(years=10).after(first_camden))
    assert planned.data["setting"] == "6 years,camden=10 years"
    bot.retention = parse_retention("6y")  # the partnership shortens Camden's: planned afresh, tonight
    bot.run_due()
    (replanned,) = store.pending_of_kind(retention.JOB)
    assert replanned.due_at == retention.next_time(clock.now())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("six years", "RETENTION: 'six years' is not a period; write e.g. 6y, 7y or 18m"),
        ("6y,camdn=7y", "RETENTION: no policy 'camdn'; known: cambridgeshire-peterborough, camden"),
        ("0y", "RETENTION: a period must be at least a month"),
        ("6y,enfield=", "RETENTION: enfield: '' is not a period"),
    ],
)
def test_a_retention_setting_that_cannot_be_read_says_what_to_write(text, problem):
    with pytest.raises(RetentionError) as caught:
        parse_retention(text, ["cambridgeshire-peterborough", "camden", "enfield"])
    assert str(caught.value).startswith(problem)


def test_periods_read_as_years_and_months():
    assert parse_retention("7y").default == Keep(years=7)
    assert parse_retention("18m").keep("camden") == Keep(months=18)
    assert parse_retention("6y, enfield = 2y6m").keep("enfield") == Keep(years=2, months=6)
    assert Keep(years=6).after(london(2024, 2, 29, 12)) == london(2030, 2, 28, 12)


def test_the_database_has_no_erasure_without_closed_escalations(store, bot):
    bot.run_due()
    assert store.pending_of_kind(retention.JOB) == []


def test_delivered_message_copies_go_after_90_days_by_index_and_queued_ones_stay(bot, store, clock):
    from support import raise_difference

    raise_difference(bot)
    deliver(store, clock.now(), lambda m: None)  # the raise's messages: delivered now
    clock.advance(timedelta(days=89))
    raise_difference(bot, case_reference="CIN-2")  # these wait, undelivered
    retention.run(store, parse_retention("6y"), clock.now())
    assert store.outbox_counts()["delivered"] > 0  # 89 days: kept, to place a late reply
    clock.advance(timedelta(days=2))
    retention.run(store, parse_retention("6y"), clock.now())
    counts = store.outbox_counts()
    assert "delivered" not in counts and counts["pending"] > 0
    if store.engine != "sqlite":
        return  # PostgreSQL's plans for a small table say little; bench/scale.py measures it at size
    plan = " ".join(
        str(r)
        for r in store.db.execute(
            "EXPLAIN QUERY PLAN DELETE FROM outbox WHERE status IN ('delivered', 'failed')"
            " AND next_attempt_at < ?",
            ["2027-01-01"],
        )
    )
    assert "USING INDEX" in plan
