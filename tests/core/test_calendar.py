"""The working-day calendar and timescale phrases, checked against PRODUCT.md "Timescale semantics".

Due times are compared through `isoformat()`, which shows both the London wall time and the UTC
offset: comparing two aware datetimes that share a tzinfo ignores the offset (and `fold`), so a due
time an hour out across a clock change would otherwise slip through.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.calendar import LONDON, WorkingCalendar
from bot.timescale import Timescale

GOVUK_BANK_HOLIDAYS = (
    Path(__file__).resolve().parent.parent / "fixtures" / "govuk" / "govuk-bank-holidays.json"
)


def london(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *, fold=0
) -> datetime:
    """An aware Europe/London datetime (zoneinfo picks GMT or BST from the date)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=LONDON, fold=fold)


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


def due_iso(calendar: WorkingCalendar, start: datetime, phrase: str) -> str:
    due = calendar.due(start, Timescale.parse(phrase))
    assert due is not None, f"{phrase!r} from {start.isoformat()} gave no due time"
    return due.isoformat()


# 1. The worked examples in PRODUCT.md


def test_camden_standard_stage_1_over_christmas_2026(calendar):
    # 25 and 28 Dec 2026 and 1 Jan 2027 are bank holidays.
    due = calendar.due(london(2026, 12, 23, 10), Timescale.parse("1 working week"))
    assert due is not None
    assert due.isoformat() == "2027-01-04T17:00:00+00:00"
    assert due.strftime("%a %d %b %Y %H:%M") == "Mon 04 Jan 2027 17:00"
    assert due.utcoffset() == timedelta(0)


def test_camden_urgent_stage_1_across_spring_forward_2027(calendar):
    start = london(2027, 3, 27, 12)
    assert start.utcoffset() == timedelta(0)  # GMT
    due = calendar.due(start, Timescale.parse("24 hours"))
    assert due is not None
    assert due.strftime("%a %d %b %Y %H:%M") == "Sun 28 Mar 2027 13:00"
    assert due.utcoffset() == timedelta(hours=1)  # BST
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=24)


# 2. The start-day rule


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        pytest.param(london(2027, 3, 2, 0, 0), date(2027, 3, 2), id="tue-midnight-same-day"),
        pytest.param(london(2027, 3, 2, 9, 0), date(2027, 3, 2), id="tue-0900-same-day"),
        pytest.param(london(2027, 3, 2, 16, 59, 59), date(2027, 3, 2), id="tue-165959-same-day"),
        pytest.param(london(2027, 3, 2, 17, 0), date(2027, 3, 3), id="tue-1700-exactly-next-day"),
        pytest.param(london(2027, 3, 2, 17, 0, 1), date(2027, 3, 3), id="tue-170001-next-day"),
        pytest.param(london(2027, 3, 2, 23, 59), date(2027, 3, 3), id="tue-2359-next-day"),
        pytest.param(london(2027, 3, 5, 16, 0), date(2027, 3, 5), id="fri-1600-same-day"),
        pytest.param(london(2027, 3, 5, 17, 0), date(2027, 3, 8), id="fri-1700-monday"),
        pytest.param(london(2027, 3, 6, 10, 0), date(2027, 3, 8), id="sat-monday"),
        pytest.param(london(2027, 3, 7, 23, 0), date(2027, 3, 8), id="sun-monday"),
        pytest.param(london(2027, 3, 25, 17, 30), date(2027, 3, 30), id="thu-before-easter-2027"),
        pytest.param(london(2027, 3, 26, 10, 0), date(2027, 3, 30), id="good-friday-2027"),
        pytest.param(london(2027, 3, 27, 10, 0), date(2027, 3, 30), id="easter-saturday-2027"),
        pytest.param(london(2027, 3, 29, 9, 0), date(2027, 3, 30), id="easter-monday-2027"),
        pytest.param(london(2027, 5, 3, 9, 0), date(2027, 5, 4), id="early-may-holiday-2027"),
        pytest.param(london(2027, 12, 24, 17, 0), date(2027, 12, 29), id="christmas-eve-2027-1700"),
        pytest.param(london(2027, 12, 27, 10, 0), date(2027, 12, 29), id="substitute-27-dec-2027"),
        # Instants given in UTC (as chat platforms send them) are judged on the London clock.
        pytest.param(datetime(2027, 6, 1, 16, 30, tzinfo=UTC), date(2027, 6, 2), id="utc-1630-is-1730-bst"),
        pytest.param(datetime(2027, 1, 5, 16, 30, tzinfo=UTC), date(2027, 1, 5), id="utc-1630-is-1630-gmt"),
        pytest.param(
            datetime(2027, 6, 4, 23, 30, tzinfo=UTC), date(2027, 6, 7), id="utc-fri-2330-is-sat-bst"
        ),
    ],
)
def test_start_day(calendar, when, expected):
    assert calendar.start_day(when) == expected


# 3. Working-day timescales


@pytest.mark.parametrize(
    ("start", "phrase", "expected"),
    [
        # Weekends
        pytest.param(london(2027, 3, 5, 10), "same working day", "2027-03-05T17:00:00+00:00", id="fri-same"),
        pytest.param(london(2027, 3, 5, 10), "next working day", "2027-03-08T17:00:00+00:00", id="fri-next"),
        pytest.param(london(2027, 3, 5, 17), "same working day", "2027-03-08T17:00:00+00:00", id="fri-1700"),
        pytest.param(london(2027, 3, 6, 10), "same working day", "2027-03-08T17:00:00+00:00", id="sat-same"),
        pytest.param(
            london(2027, 3, 7, 23, 59),
            "next working day",
            "2027-03-09T17:00:00+00:00",
            id="sun-next",
        ),
        pytest.param(london(2027, 3, 1, 10), "1 working day", "2027-03-02T17:00:00+00:00", id="mon-1-day"),
        pytest.param(london(2027, 3, 1, 10), "1 working week", "2027-03-08T17:00:00+00:00", id="mon-week"),
        pytest.param(
            london(2027, 3, 1, 10), "10 working days", "2027-03-15T17:00:00+00:00", id="mon-10-days"
        ),
        # Christmas 2027: 25/26 Dec are Sat/Sun, so Mon 27 and Tue 28 Dec are substitute days;
        # 1 Jan 2028 is a Saturday, so Mon 3 Jan 2028 is the substitute day.
        pytest.param(
            london(2027, 12, 24, 10),
            "same working day",
            "2027-12-24T17:00:00+00:00",
            id="xmas-2027-eve-same",
        ),
        pytest.param(
            london(2027, 12, 24, 10),
            "next working day",
            "2027-12-29T17:00:00+00:00",
            id="xmas-2027-eve-next",
        ),
        pytest.param(
            london(2027, 12, 24, 17),
            "same working day",
            "2027-12-29T17:00:00+00:00",
            id="xmas-2027-eve-1700-same",
        ),
        pytest.param(
            london(2027, 12, 25, 12),
            "next working day",
            "2027-12-30T17:00:00+00:00",
            id="xmas-2027-day-next",
        ),
        pytest.param(
            london(2027, 12, 27, 9),
            "same working day",
            "2027-12-29T17:00:00+00:00",
            id="xmas-2027-substitute-27-same",
        ),
        pytest.param(
            london(2027, 12, 28, 9),
            "next working day",
            "2027-12-30T17:00:00+00:00",
            id="xmas-2027-substitute-28-next",
        ),
        pytest.param(
            london(2027, 12, 23, 12),
            "1 working week",
            "2028-01-04T17:00:00+00:00",
            id="xmas-2027-week-past-new-year-substitute",
        ),
        pytest.param(
            london(2026, 12, 14, 10),
            "20 working days",
            "2027-01-14T17:00:00+00:00",
            id="xmas-2026-20-days",
        ),
        # Easter 2026: Good Friday 3 Apr, Easter Monday 6 Apr.
        pytest.param(
            london(2026, 4, 2, 16, 59),
            "same working day",
            "2026-04-02T17:00:00+01:00",
            id="easter-2026-thu-same",
        ),
        pytest.param(
            london(2026, 4, 2, 11),
            "next working day",
            "2026-04-07T17:00:00+01:00",
            id="easter-2026-thu-next",
        ),
        pytest.param(
            london(2026, 4, 3, 10),
            "same working day",
            "2026-04-07T17:00:00+01:00",
            id="easter-2026-good-friday-same",
        ),
        pytest.param(
            london(2026, 4, 1, 9),
            "5 working days",
            "2026-04-10T17:00:00+01:00",
            id="easter-2026-wed-5-days",
        ),
        # Easter 2027: Good Friday 26 Mar, Easter Monday 29 Mar (clocks go forward on 28 Mar).
        pytest.param(
            london(2027, 3, 25, 14),
            "next working day",
            "2027-03-30T17:00:00+01:00",
            id="easter-2027-thu-next",
        ),
        pytest.param(
            london(2027, 3, 25, 14),
            "3 working days",
            "2027-04-01T17:00:00+01:00",
            id="easter-2027-thu-3-days",
        ),
        pytest.param(
            london(2027, 3, 29, 9),
            "same working day",
            "2027-03-30T17:00:00+01:00",
            id="easter-2027-monday-same",
        ),
        # Early May bank holiday: Mon 4 May 2026, Mon 3 May 2027.
        pytest.param(
            london(2026, 4, 30, 12),
            "2 working days",
            "2026-05-05T17:00:00+01:00",
            id="early-may-2026-2-days",
        ),
        pytest.param(
            london(2027, 4, 30, 10),
            "next working day",
            "2027-05-04T17:00:00+01:00",
            id="early-may-2027-next",
        ),
        pytest.param(
            london(2027, 4, 30, 17),
            "same working day",
            "2027-05-04T17:00:00+01:00",
            id="early-may-2027-fri-1700-same",
        ),
        pytest.param(
            london(2027, 5, 3, 9),
            "same working day",
            "2027-05-04T17:00:00+01:00",
            id="early-may-2027-holiday-same",
        ),
    ],
)
def test_working_day_timescales(calendar, start, phrase, expected):
    assert due_iso(calendar, start, phrase) == expected


# 4. Clock changes


@pytest.mark.parametrize(
    ("start", "phrase", "expected"),
    [
        pytest.param(
            london(2027, 3, 25, 10),
            "same working day",
            "2027-03-25T17:00:00+00:00",
            id="spring-2027-before-change-gmt",
        ),
        pytest.param(
            london(2027, 3, 25, 10),
            "next working day",
            "2027-03-30T17:00:00+01:00",
            id="spring-2027-after-change-bst",
        ),
        pytest.param(
            london(2027, 3, 19, 10),
            "1 working week",
            "2027-03-30T17:00:00+01:00",
            id="spring-2027-week-over-change-and-easter",
        ),
        pytest.param(
            london(2027, 10, 29, 10),
            "same working day",
            "2027-10-29T17:00:00+01:00",
            id="autumn-2027-before-change-bst",
        ),
        pytest.param(
            london(2027, 10, 29, 10),
            "next working day",
            "2027-11-01T17:00:00+00:00",
            id="autumn-2027-after-change-gmt",
        ),
        pytest.param(
            london(2027, 10, 31, 1, 30, fold=1),
            "same working day",
            "2027-11-01T17:00:00+00:00",
            id="autumn-2027-from-repeated-hour",
        ),
    ],
)
def test_working_day_due_stays_1700_local_across_clock_changes(calendar, start, phrase, expected):
    assert due_iso(calendar, start, phrase) == expected


@pytest.mark.parametrize(
    ("start", "phrase", "expected"),
    [
        pytest.param(
            london(2027, 3, 27, 12),
            "24 hours",
            "2027-03-28T13:00:00+01:00",
            id="spring-2027-24h-sat-noon-gmt",
        ),
        pytest.param(
            london(2027, 3, 26, 9),
            "48 hours",
            "2027-03-28T10:00:00+01:00",
            id="spring-2027-48h-good-friday",
        ),
        pytest.param(
            london(2027, 3, 28, 0, 30),
            "1 hour",
            "2027-03-28T02:30:00+01:00",
            id="spring-2027-1h-skips-missing-hour",
        ),
        pytest.param(
            london(2027, 10, 30, 12),
            "24 hours",
            "2027-10-31T11:00:00+00:00",
            id="autumn-2027-24h-sat-noon-bst",
        ),
        pytest.param(
            london(2027, 10, 31, 0, 30),
            "1 hour",
            "2027-10-31T01:30:00+01:00",
            id="autumn-2027-1h-first-0130-bst",
        ),
        pytest.param(
            london(2027, 10, 31, 0, 30),
            "2 hours",
            "2027-10-31T01:30:00+00:00",
            id="autumn-2027-2h-second-0130-gmt",
        ),
        pytest.param(
            london(2026, 12, 24, 12),
            "72 hours",
            "2026-12-27T12:00:00+00:00",
            id="xmas-2026-72h-not-skipping-holidays",
        ),
        pytest.param(
            datetime(2027, 3, 27, 12, tzinfo=UTC),
            "24 hours",
            "2027-03-28T13:00:00+01:00",
            id="utc-input-shown-in-london-time",
        ),
    ],
)
def test_hour_timescales_are_elapsed_time(calendar, start, phrase, expected):
    assert due_iso(calendar, start, phrase) == expected


# 5. Naive datetimes


@pytest.mark.parametrize("phrase", ["same working day", "5 working days", "1 working week", "24 hours"])
def test_naive_start_is_refused(calendar, phrase):
    naive = datetime(2027, 3, 1, 10)  # noqa: DTZ001 - deliberately naive
    with pytest.raises(ValueError, match="aware"):
        calendar.due(naive, Timescale.parse(phrase))


def test_naive_start_day_is_refused(calendar):
    with pytest.raises(ValueError, match="aware"):
        calendar.start_day(datetime(2027, 3, 1, 10))  # noqa: DTZ001 - deliberately naive


# 6. Parsing policy phrases


MONDAY_1_MARCH_2027_10AM = london(2027, 3, 1, 10)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        pytest.param("same working day", "2027-03-01T17:00:00+00:00", id="same-working-day"),
        pytest.param("next working day", "2027-03-02T17:00:00+00:00", id="next-working-day"),
        pytest.param("1 working week", "2027-03-08T17:00:00+00:00", id="1-working-week"),
        pytest.param("1 working day", "2027-03-02T17:00:00+00:00", id="1-working-day"),
        pytest.param("5 working days", "2027-03-08T17:00:00+00:00", id="5-working-days"),
        pytest.param("15 working days", "2027-03-22T17:00:00+00:00", id="15-working-days"),
        pytest.param("1 hour", "2027-03-01T11:00:00+00:00", id="1-hour"),
        pytest.param("24 hours", "2027-03-02T10:00:00+00:00", id="24-hours"),
        pytest.param("  5 Working  Days ", "2027-03-08T17:00:00+00:00", id="case-and-spaces"),
        pytest.param("Next Working Day", "2027-03-02T17:00:00+00:00", id="title-case"),
    ],
)
def test_parse_accepts_policy_phrases(calendar, phrase, expected):
    assert due_iso(calendar, MONDAY_1_MARCH_2027_10AM, phrase) == expected


@pytest.mark.parametrize("phrase", ["none", "None", " NONE "])
def test_none_timescale_has_no_due_time(calendar, phrase):
    timescale = Timescale.parse(phrase)
    assert timescale.given is False
    assert calendar.due(MONDAY_1_MARCH_2027_10AM, timescale) is None


@pytest.mark.parametrize(
    "phrase",
    [
        pytest.param("", id="empty"),
        pytest.param("soon", id="soon"),
        pytest.param("5 days", id="calendar-days"),
        pytest.param("five working days", id="number-in-words"),
        pytest.param("2 working weeks", id="2-working-weeks"),
        pytest.param("2 weeks", id="weeks"),
        pytest.param("24 hrs", id="hrs"),
        pytest.param("1.5 hours", id="fractional-hours"),
        pytest.param("-1 hours", id="negative-hours"),
        pytest.param("5 working days or less", id="trailing-words"),
        pytest.param("within 5 working days", id="leading-words"),
    ],
)
def test_parse_refuses_nonsense_and_lists_accepted_forms(phrase):
    with pytest.raises(ValueError) as excinfo:
        Timescale.parse(phrase)
    message = str(excinfo.value)
    assert repr(phrase) in message
    for form in (
        "'5 working days'",
        "'1 working week'",
        "'same working day'",
        "'next working day'",
        "'24 hours'",
        "'none'",
    ):
        assert form in message


# 7. Against GOV.UK's published list


def test_working_days_match_govuk_england_and_wales_list_2012_to_2028(calendar):
    data = json.loads(GOVUK_BANK_HOLIDAYS.read_text(encoding="utf-8"))
    govuk = {date.fromisoformat(event["date"]) for event in data["england-and-wales"]["events"]}
    # Guard against a truncated fixture quietly shrinking the check.
    assert {day.year for day in govuk} == set(range(2012, 2029))

    mismatches = []
    day = date(2012, 1, 1)
    while day <= date(2028, 12, 31):
        expected = day.weekday() < 5 and day not in govuk
        actual = calendar.is_working_day(day)
        if actual != expected:
            mismatches.append(
                f"{day.isoformat()} ({day:%a}): calendar says "
                f"{'working' if actual else 'not working'}, GOV.UK says "
                f"{'working' if expected else 'not working'}"
            )
        day += timedelta(days=1)
    assert not mismatches, "calendar differs from GOV.UK on:\n" + "\n".join(mismatches)
