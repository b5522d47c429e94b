"""Reminders people can live with: a difference left alone, followed message by message through
the simulated weeks, never floods anyone and never writes at night."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from bot.calendar import LONDON
from bot.commands import RaiseEscalation, SetEarlierDue
from bot.messages import Message
from support import london


def raise_camden(bot, *, urgent: bool = False) -> list[Message]:
    return bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="camden",
            case_reference="CIN-1",
            counterpart="sam",
            category="threshold",
            issue="Issue",
            risk="Risk",
            outcome_wanted="Outcome",
            urgent=urgent,
        )
    )


def left_alone(bot, clock, until: datetime) -> list[tuple[datetime, Message]]:
    """Everything the bot sends, and when, as its loop would wake until `until`."""
    sent: list[tuple[datetime, Message]] = [(clock.now(), m) for m in bot.run_due()]  # as the loop starts
    while (wake := bot.next_wakeup()) is not None and wake <= until:
        clock.set(max(wake, clock.now()))
        sent += [(clock.now(), m) for m in bot.run_due()]
    return sent


def in_office_hours(at: datetime, calendar) -> bool:
    local = at.astimezone(LONDON)
    return calendar.is_working_day(local.date()) and time(8) <= local.time() <= time(18)


def test_a_standard_case_left_alone_for_ten_weeks_sends_at_most_60_messages_all_in_office_hours(bot, clock):
    raised = raise_camden(bot)
    sent = left_alone(bot, clock, london(2026, 12, 1, 10) + timedelta(weeks=10))
    total = len(raised) + len(sent)
    print(f"\nstandard, 10 weeks: {total} messages", dict(Counter(m.to for _, m in sent)))
    assert total <= 60, Counter(m.to for _, m in sent)
    assert [at for at, _ in sent if not in_office_hours(at, bot.calendar)] == []
    # It never stalls silently: the people on it are still being chased in week ten.
    last_alex = max(at for at, m in sent if m.to == "alex")
    assert last_alex >= london(2026, 12, 1) + timedelta(weeks=9)
    # The managers were told once; the business manager hears in digests, never per chase.
    per_person = Counter(m.to for _, m in sent)
    assert per_person["jo"] == 1 and per_person["priya"] == 1
    assert all(m.escalation_id is None for _, m in sent if m.to == "dee")


def test_an_urgent_case_left_alone_for_two_days_sends_at_most_20_messages_none_at_night(bot, clock):
    raised = raise_camden(bot, urgent=True)  # Tue 1 Dec 10:00; due in 24 hours
    sent = left_alone(bot, clock, london(2026, 12, 3, 12))  # 26 hours past its due time
    print(f"\nurgent, 2 days: {len(raised) + len(sent)} messages", dict(Counter(m.to for _, m in sent)))
    assert len(raised) + len(sent) <= 20, [(str(at), m.to, m.text.splitlines()[0]) for at, m in sent]
    night = [at for at, _ in sent if not time(7) <= at.astimezone(LONDON).time() <= time(21)]
    assert night == []
    # Its first overdue day is chased every four hours within allowed hours.
    to_alex = [at for at, m in sent if m.to == "alex" and m.text.startswith("Overdue:")]
    assert to_alex == [
        london(2026, 12, 2, 14),
        london(2026, 12, 2, 18),
        london(2026, 12, 3, 7),
        london(2026, 12, 3, 10),
    ]


def test_a_reminder_due_in_the_evening_arrives_at_8am_the_next_working_day_once(bot, clock):
    raise_camden(bot)
    bot.handle(
        SetEarlierDue(
            actor="alex", escalation_id="E-0001", due=london(2026, 12, 3, 19, 30), reason="Case conference"
        )
    )
    sent = left_alone(bot, clock, london(2026, 12, 5, 12))
    due_now = [(at, m.to) for at, m in sent if "due now" in m.text]
    assert due_now == [(london(2026, 12, 4, 8), "alex"), (london(2026, 12, 4, 8), "sam")]


def test_the_business_manager_gets_one_digest_a_morning_and_none_when_nothing_went_overdue(bot, clock):
    raise_camden(bot)  # due 5pm Tue 8 Dec
    for _ in range(2):
        raise_camden(bot)
    sent = left_alone(bot, clock, london(2026, 12, 16, 12))
    digests = [(at, m) for at, m in sent if m.to == "dee"]
    # Nothing was overdue on the mornings of 2-8 Dec: no message. On Wed 9 Dec, all three; then
    # on Monday 14 Dec, the weekly list of everything still overdue.
    assert [at for at, _ in digests] == [london(2026, 12, 9, 9), london(2026, 12, 14, 9)]
    first, weekly = (m.text for _, m in digests)
    assert first.splitlines()[0] == "Newly overdue: 3 professional differences since 9am Tue 8 Dec 2026"
    assert "E-0001 · case CIN-1 · stage 1 was due 5pm Tue 8 Dec 2026" in first
    assert weekly.splitlines()[0] == "Still overdue: 3 professional differences in your policies"
