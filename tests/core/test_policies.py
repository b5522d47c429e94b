"""The five bundled policies: what they say, the deadlines they produce, and the files they refuse.

Every expected due time below is worked out by hand from the source document and PRODUCT.md
"Timescale semantics":

- the *start day* of t is t's London date if that is a working day and t is before 17:00, otherwise
  the next working day (so a stage that starts at 17:00 counts from the next working day);
- "within N working days" is 17:00 on the Nth working day after the start day; "1 working week" is
  5, "next working day" is 1, "same working day" is 0;
- urgent hours are elapsed time, straight through weekends, bank holidays and clock changes.

England bank holidays used: Fri 25 Dec 2026, Mon 28 Dec 2026 (Boxing Day substitute), Fri 1 Jan
2027, Good Friday 26 Mar 2027, Easter Monday 29 Mar 2027, Mon 3 May 2027, Mon 31 May 2027. British
Summer Time starts Sun 28 Mar 2027 at 01:00 GMT.

Times are compared through isoformat(), which shows the UTC offset: two aware datetimes with the same
tzinfo compare on wall time only, so an answer an hour out across a clock change would slip through.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.calendar import LONDON, WorkingCalendar
from bot.policy import (
    Anchor,
    People,
    Policy,
    PolicyError,
    PolicyLibrary,
    bundled_policy_dir,
    load_policy_file,
)
from bot.timeline import StageTime, plan_timeline, stage_due

POLICY_IDS = ("cambridgeshire-peterborough", "camden", "enfield", "kingston-richmond", "redbridge")
POLICY_DIR = bundled_policy_dir()
CALENDAR = WorkingCalendar()


def london(*a: int) -> datetime:
    """An aware Europe/London datetime: london(2026, 12, 23, 10)."""
    return datetime(*a, tzinfo=LONDON)


def plan(policy: Policy, start: datetime, *, urgent: bool = False) -> list[StageTime]:
    return plan_timeline(policy, start, urgent=urgent, calendar=WorkingCalendar())


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def stages_of(times: list[StageTime]) -> list[tuple[int, str | None, str | None]]:
    """(number, starts, due) of each stage, as ISO text with the UTC offset."""
    return [(t.number, iso(t.starts), iso(t.due)) for t in times]


def milestones_of(times: list[StageTime], number: int) -> dict[str, str]:
    """The milestones the timeline shows for stage `number`: id -> due (ISO text)."""
    stage = next(t for t in times if t.number == number)
    return {m.id: m.due.isoformat() for m in stage.milestones}


# -- 1. The bundled policies ---------------------------------------------------------------------


def test_the_five_partnership_policies_are_bundled(policies: PolicyLibrary) -> None:
    assert policies.ids() == sorted(POLICY_IDS)


def test_an_unknown_policy_is_refused_with_the_known_ones_listed(policies: PolicyLibrary) -> None:
    with pytest.raises(KeyError) as info:
        policies.get("hackney")
    assert "hackney" in str(info.value)
    for policy_id in POLICY_IDS:
        assert policy_id in str(info.value)


# Source title and date as each document gives them (seeds/*.txt, first lines).
SOURCES = {
    "camden": ("Escalation and resolving professional differences policy", "2024"),
    "enfield": ("Inter-agency Escalation and Resolution Protocol", "undated"),
    "cambridgeshire-peterborough": ("Resolving Professional Differences (Escalation Policy)", "June 2021"),
    "redbridge": ("Resolution and Escalation Policy", "May 2017"),
    "kingston-richmond": (
        "Resolving professional differences (a procedure to support escalations)",
        "undated",
    ),
}


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_each_policy_names_its_source_document_and_date(policies: PolicyLibrary, policy_id: str) -> None:
    policy = policies.get(policy_id)
    title, date = SOURCES[policy_id]
    assert title in policy.source_title
    assert date in policy.source_date
    assert policy.source_publisher


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_each_policy_has_what_the_raise_form_and_case_record_need(
    policies: PolicyLibrary, policy_id: str
) -> None:
    policy = policies.get(policy_id)
    assert policy.categories, "the raise form offers the policy's categories"
    ids = [c.id for c in policy.categories]
    assert len(ids) == len(set(ids))
    assert all(c.label.strip() for c in policy.categories)
    assert policy.record_must_include and all(r.strip() for r in policy.record_must_include)
    assert policy.emergency_guidance and all(g.strip() for g in policy.emergency_guidance)
    assert policy.out_of_scope
    assert all(o.matter.strip() and o.route.strip() for o in policy.out_of_scope)


# Stage count per document: Camden stages 1-6 (6 = Secretary of State); Enfield stages 1-3 and
# "Step 4"; Cambridgeshire & Peterborough stages One-Four; Redbridge 4.4-4.7 Stages 1-4; Kingston &
# Richmond [Stage 1]-[Stage 5]. Each ends with the partnership and none starts with it.
STAGE_COUNTS = {
    "camden": 6,
    "enfield": 4,
    "cambridgeshire-peterborough": 4,
    "redbridge": 4,
    "kingston-richmond": 5,
}


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_each_policy_has_the_documents_stages_ending_with_the_partnership(
    policies: PolicyLibrary, policy_id: str
) -> None:
    policy = policies.get(policy_id)
    assert [s.number for s in policy.stages] == list(range(1, STAGE_COUNTS[policy_id] + 1))
    assert policy.final_stage == STAGE_COUNTS[policy_id]
    assert policy.stages[0].people is not People.PARTNERSHIP
    assert policy.stages[-1].people is People.PARTNERSHIP


def test_the_emergency_guidance_gives_the_documents_numbers(policies: PolicyLibrary) -> None:
    # Camden 4: "If you believe a child is at immediate risk of harm call the police on 999."
    camden = policies.get("camden")
    assert any("999" in g for g in camden.emergency_guidance)
    # Camden's urgent route: "the Head of Children Quality Assurance on 020 7974 3369".
    assert camden.urgent_route is not None and camden.urgent_route.phone == "020 7974 3369"
    # Enfield: 999, MASH 0208 379 5555, out of hours 020 8379 1000 (5pm-9am weekdays, weekends).
    enfield = policies.get("enfield")
    assert any("999" in g for g in enfield.emergency_guidance)
    assert any(c.phone == "0208 379 5555" for c in enfield.emergency_contacts)
    assert [c.phone for c in enfield.out_of_hours] == ["020 8379 1000"]
    # Cambridgeshire & Peterborough: "the designated safeguarding lead in your agency should be
    # informed immediately".
    cambs = policies.get("cambridgeshire-peterborough")
    assert any("designated safeguarding lead" in g for g in cambs.emergency_guidance)


def test_camden_case_notes_must_state_what_the_document_lists(policies: PolicyLibrary) -> None:
    # Camden 4: "the date of and form of communication / who was involved / what was discussed /
    # what was the outcome, including any further escalation under this policy".
    record = " ".join(policies.get("camden").record_must_include).lower()
    for item in ("date of and form of communication", "who was involved", "what was discussed", "outcome"):
        assert item in record


# Individuals named in the seed documents (Camden stage 3 and 4 tables, Redbridge "Senior
# Safeguarding Leads", Kingston & Richmond Appendix 2), with some of their personal contact details.
# The policies keep role titles only.
PERSONAL_DETAILS = (
    "Avril Mayhew",
    "Graeme McAndrew",
    "Jess McGregor",
    "Rashida Baig",
    "Lesley Perry",
    "Catherine Worboyes",
    "Kevin Jeffery",
    "Louise Doherty",
    "Vanessa Impey",
    "Charlotte Pennycook",
    "Lesley.Perry@redbridge.gov.uk",
    "07814 883194",  # the Redbridge LSCB Business Manager's mobile
    "020 8708 5282",  # ... and direct line
    "07388 226574",  # Kingston & Richmond: numbers listed under named designated leads
    "020 4526 2707",
    "020 3922 1455",
    "020 3771 6100",
    "07384 877047",
    "0208 547 5750",
    "louise.doherty@swlondon.nhs.uk",
    "sophie.helyer@swlstg.nhs.uk",
    "cpennycook@nhs.net",
)


@pytest.mark.parametrize("policy_file", sorted(POLICY_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_no_personal_names_or_contact_details_in_the_policy_files(policy_file: Path) -> None:
    text = policy_file.read_text(encoding="utf-8").lower()
    leaked = [detail for detail in PERSONAL_DETAILS if detail.lower() in text]
    assert leaked == []


def test_only_camden_has_urgent_timescales(policies: PolicyLibrary) -> None:
    # Camden: "1 working week ... or 24 hours in urgent cases". The others give no urgent figure
    # (Redbridge/Kingston & Richmond: "a timescale that protects the child ... whichever is less").
    assert {p: policies.get(p).has_urgent_timescales for p in POLICY_IDS} == {
        "camden": True,
        "enfield": False,
        "cambridgeshire-peterborough": False,
        "redbridge": False,
        "kingston-richmond": False,
    }


# -- 2. Timelines ---------------------------------------------------------------------------------


def test_camden_standard_over_christmas_and_new_year(policies: PolicyLibrary) -> None:
    times = plan(policies.get("camden"), london(2026, 12, 23, 10, 0))
    assert stages_of(times) == [
        # Wed 23 Dec start day; 24, 29, 30, 31 Dec, 4 Jan (25, 28 Dec, 1 Jan are bank holidays)
        # → Mon 4 Jan 17:00.
        (1, "2026-12-23T10:00:00+00:00", "2027-01-04T17:00:00+00:00"),
        # Starts Mon 4 Jan 17:00 (end of day) → start day Tue 5; 6, 7, 8, 11, 12 → Tue 12 Jan.
        (2, "2027-01-04T17:00:00+00:00", "2027-01-12T17:00:00+00:00"),
        # Start day Wed 13; 14, 15, 18, 19, 20 → Wed 20 Jan.
        (3, "2027-01-12T17:00:00+00:00", "2027-01-20T17:00:00+00:00"),
        # Start day Thu 21; 22, 25, 26, 27, 28 → Thu 28 Jan.
        (4, "2027-01-20T17:00:00+00:00", "2027-01-28T17:00:00+00:00"),
        # Start day Fri 29; 1, 2, 3, 4, 5 Feb → Fri 5 Feb.
        (5, "2027-01-28T17:00:00+00:00", "2027-02-05T17:00:00+00:00"),
        # Stage 6, Secretary of State: the document gives no timescale.
        (6, "2027-02-05T17:00:00+00:00", None),
    ]
    assert times[-1].title == "Secretary of State"


def test_camden_standard_over_easter_the_clock_change_and_may_day(policies: PolicyLibrary) -> None:
    times = plan(policies.get("camden"), london(2027, 3, 25, 10, 0))
    assert stages_of(times) == [
        # Thu 25 Mar (GMT) start day; Good Friday 26 and Easter Monday 29 skipped; 30, 31 Mar,
        # 1, 2, 5 Apr → Mon 5 Apr 17:00 BST.
        (1, "2027-03-25T10:00:00+00:00", "2027-04-05T17:00:00+01:00"),
        # Start day Tue 6; 7, 8, 9, 12, 13 → Tue 13 Apr.
        (2, "2027-04-05T17:00:00+01:00", "2027-04-13T17:00:00+01:00"),
        # Start day Wed 14; 15, 16, 19, 20, 21 → Wed 21 Apr.
        (3, "2027-04-13T17:00:00+01:00", "2027-04-21T17:00:00+01:00"),
        # Start day Thu 22; 23, 26, 27, 28, 29 → Thu 29 Apr.
        (4, "2027-04-21T17:00:00+01:00", "2027-04-29T17:00:00+01:00"),
        # Start day Fri 30 Apr; Mon 3 May is a bank holiday; 4, 5, 6, 7, 10 → Mon 10 May.
        (5, "2027-04-29T17:00:00+01:00", "2027-05-10T17:00:00+01:00"),
        (6, "2027-05-10T17:00:00+01:00", None),
    ]


def test_camden_urgent_is_24_elapsed_hours_per_stage_across_the_clock_change(
    policies: PolicyLibrary,
) -> None:
    times = plan(policies.get("camden"), london(2027, 3, 27, 12, 0), urgent=True)
    assert stages_of(times) == [
        # Sat 27 Mar 12:00 GMT (12:00 UTC) + 24 h = 12:00 UTC Sun 28 Mar = 13:00 BST (PRODUCT.md
        # worked example): 24 hours elapsed, though the wall clock moves 25 (12:00 to 13:00).
        (1, "2027-03-27T12:00:00+00:00", "2027-03-28T13:00:00+01:00"),
        # From here on both ends are BST: + 24 h each, Easter Monday 29 Mar included.
        (2, "2027-03-28T13:00:00+01:00", "2027-03-29T13:00:00+01:00"),
        (3, "2027-03-29T13:00:00+01:00", "2027-03-30T13:00:00+01:00"),
        (4, "2027-03-30T13:00:00+01:00", "2027-03-31T13:00:00+01:00"),
        (5, "2027-03-31T13:00:00+01:00", "2027-04-01T13:00:00+01:00"),
        # The Secretary of State stage has no timescale, urgent or not.
        (6, "2027-04-01T13:00:00+01:00", None),
    ]
    for stage in times[:5]:
        assert stage.starts is not None and stage.due is not None
        # Subtracting two datetimes with the same tzinfo gives wall-clock time: compare in UTC.
        assert stage.due.astimezone(UTC) - stage.starts.astimezone(UTC) == timedelta(hours=24)


def test_camden_urgent_runs_through_christmas_day(policies: PolicyLibrary) -> None:
    times = plan(policies.get("camden"), london(2026, 12, 24, 16, 0), urgent=True)
    # Thu 24 Dec 16:00 + 24 h = Fri 25 Dec 16:00: a bank holiday does not stop the clock.
    assert iso(times[0].due) == "2026-12-25T16:00:00+00:00"
    # + 24 h = Sat 26 Dec 16:00.
    assert iso(times[1].due) == "2026-12-26T16:00:00+00:00"


def test_enfield_ordinary_week(policies: PolicyLibrary) -> None:
    times = plan(policies.get("enfield"), london(2026, 12, 1, 10, 0))
    assert stages_of(times) == [
        # "no later than the next working day": Tue 1 Dec start day; +1 → Wed 2 Dec 17:00.
        (1, "2026-12-01T10:00:00+00:00", "2026-12-02T17:00:00+00:00"),
        # "convened within 2 working days": starts Wed 2 17:00 → start day Thu 3; 4, 7 → Mon 7 Dec.
        (2, "2026-12-02T17:00:00+00:00", "2026-12-07T17:00:00+00:00"),
        # "within 5 working days from initial stage 1": counted from Tue 1 Dec, not from this
        # stage's start; 2, 3, 4, 7, 8 → Tue 8 Dec (counted from the stage start it would be 15 Dec).
        (3, "2026-12-07T17:00:00+00:00", "2026-12-08T17:00:00+00:00"),
        # Step 4, Chair of ESCP: no timescale given.
        (4, "2026-12-08T17:00:00+00:00", None),
    ]
    # "The line managers should be informed the same working day": Tue 1 Dec 17:00.
    assert milestones_of(times, 1) == {"line-managers-informed": "2026-12-01T17:00:00+00:00"}
    assert [milestones_of(times, n) for n in (2, 3, 4)] == [{}, {}, {}]


def test_enfield_over_christmas(policies: PolicyLibrary) -> None:
    times = plan(policies.get("enfield"), london(2026, 12, 23, 10, 0))
    assert stages_of(times) == [
        # Wed 23 Dec start day; next working day Thu 24 Dec → 17:00.
        (1, "2026-12-23T10:00:00+00:00", "2026-12-24T17:00:00+00:00"),
        # Starts Thu 24 17:00 → start day Tue 29 (25, 28 bank holidays; 26, 27 weekend); 30, 31
        # → Thu 31 Dec.
        (2, "2026-12-24T17:00:00+00:00", "2026-12-31T17:00:00+00:00"),
        # 5 working days from Wed 23 Dec: 24, 29, 30, 31 Dec, (1 Jan bank holiday) 4 Jan.
        (3, "2026-12-31T17:00:00+00:00", "2027-01-04T17:00:00+00:00"),
        (4, "2027-01-04T17:00:00+00:00", None),
    ]
    # Same working day as Wed 23 Dec 10:00.
    assert milestones_of(times, 1) == {"line-managers-informed": "2026-12-23T17:00:00+00:00"}


def test_enfield_stage_3_reached_after_its_5_days_have_run_out_is_due_at_once(
    policies: PolicyLibrary,
) -> None:
    stage_3 = policies.get("enfield").stage(3)
    assert stage_3.anchor is Anchor.ESCALATION_START
    # Raised Tue 1 Dec 10:00: the 5 days ran out Tue 8 Dec 17:00. Stage 3 only starts Wed 9 Dec
    # 10:00, so it is due at once, never in the past.
    due = stage_due(
        stage_3,
        stage_start=london(2026, 12, 9, 10, 0),
        escalation_start=london(2026, 12, 1, 10, 0),
        urgent=False,
        calendar=CALENDAR,
    )
    assert iso(due) == "2026-12-09T10:00:00+00:00"


def test_redbridge_timescales_and_milestones(policies: PolicyLibrary) -> None:
    times = plan(policies.get("redbridge"), london(2026, 12, 1, 10, 0))
    assert stages_of(times) == [
        # "speak to the concerned professional within 3 working days": Tue 1 Dec start day;
        # 2, 3, 4 → Fri 4 Dec.
        (1, "2026-12-01T10:00:00+00:00", "2026-12-04T17:00:00+00:00"),
        # "within a further 5 working days": starts Fri 4 17:00 → start day Mon 7; 8, 9, 10, 11, 14
        # → Mon 14 Dec.
        (2, "2026-12-04T17:00:00+00:00", "2026-12-14T17:00:00+00:00"),
        # "within a further five working days": start day Tue 15; 16, 17, 18, 21, 22 → Tue 22 Dec.
        (3, "2026-12-14T17:00:00+00:00", "2026-12-22T17:00:00+00:00"),
        # Chair's recommendations "within five working days": start day Wed 23; 24, 29, 30, 31 Dec,
        # 4 Jan → Mon 4 Jan.
        (4, "2026-12-22T17:00:00+00:00", "2027-01-04T17:00:00+00:00"),
    ]
    # Milestones counted from the stage start. "Raise within 2 working days of the disagreement" and
    # "confirm the outcome within a further 2 working days" wait for their own events.
    # Stage 1, speak within 3 working days: Fri 4 Dec (as above).
    assert milestones_of(times, 1) == {"speak": "2026-12-04T17:00:00+00:00"}
    # Stage 2, line managers "within the same working day": stage starts Fri 4 Dec 17:00, so the
    # start day is Mon 7 Dec → 17:00.
    assert milestones_of(times, 2) == {"line-managers-informed": "2026-12-07T17:00:00+00:00"}
    assert milestones_of(times, 3) == {}
    # Stage 4, referred to the Chair "within the same working day": start day Wed 23 Dec.
    assert milestones_of(times, 4) == {"referred-to-chair": "2026-12-23T17:00:00+00:00"}


def test_redbridge_events_milestones_exist_but_wait_for_their_event(policies: PolicyLibrary) -> None:
    stage_1 = policies.get("redbridge").stage(1)
    after = {m.id: (m.after, m.within.amount) for m in stage_1.milestones}
    # "within 2 working days of the disagreement"; "within 3 working days"; "within a further 2
    # working days" of a resolution.
    assert after == {
        "raise": (Anchor.DISAGREEMENT, 2),
        "speak": (Anchor.STAGE_START, 3),
        "confirm-outcome": (Anchor.RESOLUTION, 2),
    }


# Kingston & Richmond from Thu 27 May 2027 14:00 BST (Spring bank holiday Mon 31 May).
KINGSTON_SPRING = [
    # [Stage 1] "within a working week": Thu 27 start day; 28 May, (31 May holiday) 1, 2, 3, 4 Jun
    # → Fri 4 Jun 17:00 BST.
    (1, "2027-05-27T14:00:00+01:00", "2027-06-04T17:00:00+01:00"),
    # [Stage 2] "within a further working week": start day Mon 7; 8, 9, 10, 11, 14 → Mon 14 Jun.
    (2, "2027-06-04T17:00:00+01:00", "2027-06-14T17:00:00+01:00"),
    # [Stage 3] "referred without delay": no timescale; so nothing after it can be dated.
    (3, "2027-06-14T17:00:00+01:00", None),
    (4, None, None),
    (5, None, None),
]


@pytest.mark.parametrize(
    "start",
    [london(2027, 5, 27, 14, 0), datetime(2027, 5, 27, 13, 0, tzinfo=UTC)],
    ids=["london-time", "same-instant-in-utc"],
)
def test_kingston_richmond_two_working_weeks_then_none(policies: PolicyLibrary, start: datetime) -> None:
    assert stages_of(plan(policies.get("kingston-richmond"), start)) == KINGSTON_SPRING


def test_kingston_richmond_raised_on_a_friday_evening_before_christmas(policies: PolicyLibrary) -> None:
    times = plan(policies.get("kingston-richmond"), london(2026, 12, 18, 18, 30))
    assert stages_of(times) == [
        # Fri 18 Dec 18:30 is after 17:00 → start day Mon 21; 22, 23, 24, (25, 28 holidays) 29, 30
        # → Wed 30 Dec.
        (1, "2026-12-18T18:30:00+00:00", "2026-12-30T17:00:00+00:00"),
        # Start day Thu 31 Dec; (1 Jan holiday) 4, 5, 6, 7, 8 Jan → Fri 8 Jan.
        (2, "2026-12-30T17:00:00+00:00", "2027-01-08T17:00:00+00:00"),
        (3, "2027-01-08T17:00:00+00:00", None),
        (4, None, None),
        (5, None, None),
    ]


def test_cambridgeshire_peterborough_sets_no_timescale_at_all(policies: PolicyLibrary) -> None:
    # "as soon as possible" / "the shortest timescale possible": no stage has a policy due time.
    times = plan(policies.get("cambridgeshire-peterborough"), london(2026, 12, 23, 10, 0))
    assert stages_of(times) == [
        (1, "2026-12-23T10:00:00+00:00", None),
        (2, None, None),
        (3, None, None),
        (4, None, None),
    ]
    assert all(t.milestones == () for t in times)


# Policies with no urgent timescale: urgent=True must give exactly the standard (hand-worked) times.
NO_URGENT_CASES = [
    (
        "enfield",
        london(2026, 12, 1, 10, 0),
        [
            (1, "2026-12-01T10:00:00+00:00", "2026-12-02T17:00:00+00:00"),  # see test_enfield_ordinary_week
            (2, "2026-12-02T17:00:00+00:00", "2026-12-07T17:00:00+00:00"),
            (3, "2026-12-07T17:00:00+00:00", "2026-12-08T17:00:00+00:00"),
            (4, "2026-12-08T17:00:00+00:00", None),
        ],
    ),
    (
        "redbridge",
        london(2026, 12, 1, 10, 0),
        [
            (1, "2026-12-01T10:00:00+00:00", "2026-12-04T17:00:00+00:00"),  # see the Redbridge test
            (2, "2026-12-04T17:00:00+00:00", "2026-12-14T17:00:00+00:00"),
            (3, "2026-12-14T17:00:00+00:00", "2026-12-22T17:00:00+00:00"),
            (4, "2026-12-22T17:00:00+00:00", "2027-01-04T17:00:00+00:00"),
        ],
    ),
    ("kingston-richmond", london(2027, 5, 27, 14, 0), KINGSTON_SPRING),
    (
        "cambridgeshire-peterborough",
        london(2026, 12, 23, 10, 0),
        [(1, "2026-12-23T10:00:00+00:00", None), (2, None, None), (3, None, None), (4, None, None)],
    ),
]


@pytest.mark.parametrize(
    ("policy_id", "start", "expected"), NO_URGENT_CASES, ids=[c[0] for c in NO_URGENT_CASES]
)
def test_urgent_without_urgent_timescales_keeps_the_standard_times(
    policies: PolicyLibrary, policy_id: str, start: datetime, expected: list
) -> None:
    policy = policies.get(policy_id)
    assert stages_of(plan(policy, start, urgent=True)) == expected
    assert stages_of(plan(policy, start, urgent=False)) == expected


def test_a_timeline_needs_an_aware_start(policies: PolicyLibrary) -> None:
    with pytest.raises(ValueError, match="aware"):
        plan(policies.get("camden"), datetime(2026, 12, 23, 10, 0))  # noqa: DTZ001


# -- 3. The schema refuses broken files ----------------------------------------------------------


def broken_copy(
    tmp_path: Path,
    mutate: Callable[[dict[str, Any]], object],
    *,
    policy_id: str = "camden",
    file_name: str | None = None,
) -> Path:
    """A copy of a bundled policy, changed by `mutate`, written to tmp_path/<id>.yaml."""
    data = yaml.safe_load((POLICY_DIR / f"{policy_id}.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / (file_name or f"{policy_id}.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message


def test_an_unchanged_copy_loads(tmp_path: Path) -> None:
    # So every refusal below is caused by its mutation, not by the copying.
    policy = load_policy_file(broken_copy(tmp_path, lambda d: None))
    assert policy.id == "camden"
    assert [s.number for s in policy.stages] == [1, 2, 3, 4, 5, 6]


def test_a_timescale_that_is_not_one_is_refused(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["stages"][0]["timescale"]["standard"] = "1 fortnight"

    message = refusal(broken_copy(tmp_path, mutate))
    assert "stages[0].timescale.standard" in message
    assert "'1 fortnight' is not a timescale" in message
    assert "5 working days" in message  # says what would be accepted


def test_a_bad_urgent_timescale_is_refused(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["stages"][2]["timescale"]["urgent"] = "asap"

    message = refusal(broken_copy(tmp_path, mutate))
    assert "stages[2].timescale.urgent" in message
    assert "'asap' is not a timescale" in message


def test_a_missing_stage_title_is_refused(tmp_path: Path) -> None:
    message = refusal(broken_copy(tmp_path, lambda d: d["stages"][1].pop("title")))
    assert "stages[1]" in message
    assert "'title'" in message
    assert "missing" in message


def test_a_missing_top_level_field_is_refused(tmp_path: Path) -> None:
    message = refusal(broken_copy(tmp_path, lambda d: d.pop("record_must_include")))
    assert "'record_must_include'" in message
    assert "missing" in message


def test_an_unknown_stage_field_is_refused(tmp_path: Path) -> None:
    message = refusal(broken_copy(tmp_path, lambda d: d["stages"][2].update(deadline="Friday")))
    assert "stages[2]" in message
    assert "'deadline'" in message
    assert "unknown field" in message


def test_an_unknown_top_level_field_is_refused(tmp_path: Path) -> None:
    message = refusal(broken_copy(tmp_path, lambda d: d.update(colour="blue")))
    assert "(top level)" in message
    assert "'colour'" in message
    assert "unknown field" in message


def test_a_stage_number_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    message = refusal(broken_copy(tmp_path, lambda d: d["stages"][0].update(number="one")))
    assert "stages[0].number" in message
    assert "integer" in message


def test_stage_numbers_out_of_order_are_refused(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["stages"][0]["number"], d["stages"][1]["number"] = 2, 1

    message = refusal(broken_copy(tmp_path, mutate))
    assert "stages:" in message
    assert "in order" in message
    assert "[2, 1, 3, 4, 5, 6]" in message


def test_a_first_stage_that_goes_straight_to_the_partnership_is_refused(tmp_path: Path) -> None:
    message = refusal(broken_copy(tmp_path, lambda d: d["stages"][0].update(people="partnership")))
    assert "stages[0].people" in message
    assert "partnership" in message


def test_a_category_id_used_twice_is_refused(tmp_path: Path) -> None:
    message = refusal(broken_copy(tmp_path, lambda d: d["categories"][1].update(id="threshold")))
    assert "categories[1].id" in message
    assert "'threshold' is used twice" in message


def test_an_urgent_timescale_without_a_standard_one_is_refused(tmp_path: Path) -> None:
    # Camden stage 6 (index 5) has standard "none".
    message = refusal(broken_copy(tmp_path, lambda d: d["stages"][5]["timescale"].update(urgent="24 hours")))
    assert "stages[5].timescale.urgent" in message
    assert "standard" in message


def test_an_id_that_does_not_match_the_file_name_is_refused(tmp_path: Path) -> None:
    message = refusal(broken_copy(tmp_path, lambda d: None, file_name="camden-2024.yaml"))
    assert "id:" in message
    assert "'camden'" in message
    assert "'camden-2024'" in message


def test_invalid_yaml_is_refused_with_its_line_number(tmp_path: Path) -> None:
    lines = (POLICY_DIR / "camden.yaml").read_text(encoding="utf-8").splitlines()
    index = lines.index("short_name: Camden")
    # A second unquoted ": " on one line is not valid YAML.
    lines[index] = "short_name: Camden: the borough"
    path = tmp_path / "camden.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = refusal(path)
    assert "not valid YAML" in message
    assert f"line {index + 1}," in message  # 1-based line of the broken line
    assert "mapping values are not allowed here" in message


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "camden.yaml"
    path.write_text("- camden\n- enfield\n", encoding="utf-8")
    assert "expected a mapping" in refusal(path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "camden.yaml"
    path.write_text("", encoding="utf-8")
    assert "expected a mapping" in refusal(path)


def test_a_file_that_is_not_utf8_is_refused_with_its_name(tmp_path: Path) -> None:
    # An editor saving camden.yaml as Windows-1252: the en dash (U+2013) in "Senior Adviser - Safeguarding"
    # becomes byte 0x96, which is not UTF-8.
    text = (POLICY_DIR / "camden.yaml").read_text(encoding="utf-8")
    assert "\u2013" in text
    path = tmp_path / "camden.yaml"
    path.write_bytes(text.encode("cp1252"))
    refusal(path)  # a PolicyError whose message starts with the file's path


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert "no such file" in refusal(tmp_path / "camden.yaml")


def test_a_folder_with_one_broken_file_refuses_to_load(tmp_path: Path) -> None:
    broken_copy(tmp_path, lambda d: None)  # a good camden.yaml

    def mutate(d: dict[str, Any]) -> None:
        d["stages"][1]["timescale"]["standard"] = "2 weeks"

    bad = broken_copy(tmp_path, mutate, policy_id="redbridge")
    with pytest.raises(PolicyError) as info:
        PolicyLibrary.load(tmp_path)
    assert str(info.value).startswith(f"{bad}: ")
    assert "stages[1].timescale.standard" in str(info.value)


def test_a_folder_of_good_copies_loads(tmp_path: Path) -> None:
    for policy_id in POLICY_IDS:
        broken_copy(tmp_path, lambda d: None, policy_id=policy_id)
    assert PolicyLibrary.load(tmp_path).ids() == sorted(POLICY_IDS)


def test_an_empty_or_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy files"):
        PolicyLibrary.load(tmp_path)
    with pytest.raises(PolicyError, match="no such policy folder"):
        PolicyLibrary.load(tmp_path / "nowhere")


# -- 4. An escalation's policy snapshot -----------------------------------------------------------


def stage_timescales(policy: Policy) -> list[tuple]:
    return [(s.number, s.standard, s.urgent, s.anchor, s.milestones) for s in policy.stages]


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_a_snapshot_rebuilds_the_same_stages(policies: PolicyLibrary, policy_id: str) -> None:
    policy = policies.get(policy_id)
    # An escalation stores the raw policy as JSON with its "raised" event and rebuilds it later.
    snapshot = json.loads(json.dumps(dict(policy.raw)))
    rebuilt = Policy.from_dict(snapshot)
    assert stage_timescales(rebuilt) == stage_timescales(policy)
    assert rebuilt.stages == policy.stages
    start = london(2026, 12, 23, 10, 0)
    for urgent in (False, True):
        assert stages_of(plan(rebuilt, start, urgent=urgent)) == stages_of(plan(policy, start, urgent=urgent))


def test_editing_a_policy_file_leaves_a_running_escalations_deadlines_alone(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, lambda d: None)
    snapshot = json.loads(json.dumps(dict(load_policy_file(path).raw)))

    def edit(d: dict[str, Any]) -> None:
        d["stages"][0]["timescale"]["standard"] = "2 working days"

    edited = load_policy_file(broken_copy(tmp_path, edit))
    start = london(2026, 12, 23, 10, 0)
    # The edited file: Wed 23 Dec start day; 24, 29 → Tue 29 Dec.
    assert iso(plan(edited, start)[0].due) == "2026-12-29T17:00:00+00:00"
    # The snapshot keeps "1 working week": Mon 4 Jan (see the Camden Christmas test).
    assert iso(plan(Policy.from_dict(snapshot), start)[0].due) == "2027-01-04T17:00:00+00:00"


def test_a_key_given_twice_is_refused_rather_than_silently_overwritten(tmp_path: Path) -> None:
    text = (POLICY_DIR / "camden.yaml").read_text(encoding="utf-8")
    path = tmp_path / "camden.yaml"
    path.write_text(
        text.replace("short_name: Camden", "short_name: Camden\nshort_name: Other", 1), encoding="utf-8"
    )
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "'short_name' is given twice" in message and "line" in message
