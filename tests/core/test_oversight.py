"""Oversight (issue 11, parts 1 and 2): lists overdue first and by how long, filtered and capped,
over a generated history; the agencies' safeguarding leads' read-only view, its refusals, and every
read by someone not on an escalation kept in its history and shown in its export."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.commands import AddNote, EscalateStage, RaiseEscalation, Resolve, Withdraw
from bot.errors import Refused
from bot.listing import EVERY, LEAD_ROLES, ListFilter, Scope, overdue_by
from bot.people import Person, Role, agency_key
from support import london, raise_difference

AGENCIES = ["Camden Children's Services", "Whittington Health", "Hillside Primary School",
            "Met Police Camden", "Royal Free Hospital", "Brecknock Surgery"]  # fmt: skip
POLICIES = ["camden", "enfield", "redbridge"]


@pytest.fixture
def nora(store):
    """Whittington Health's named safeguarding lead: on no escalation herself."""
    person = Person("nora", "Nora Finch", "Whittington Health", "Named Nurse", roles=(Role.NAMED_LEAD,))
    store.upsert_people([person])
    return person


def generated(bot, store, clock, count: int = 300) -> dict[str, dict]:
    """`count` differences raised over weeks between people of six agencies under three policies,
    some escalated, resolved or withdrawn; returns what the test knows of each, independently."""
    rng = random.Random(11)
    people = [Person(f"w{i}", f"Worker {i}", AGENCIES[i % 6], "Practitioner", manager_id=f"m{i % 6}")
              for i in range(24)]  # fmt: skip
    people += [Person(f"m{i}", f"Manager {i}", AGENCIES[i], "Manager") for i in range(6)]
    store.upsert_people(people)
    known: dict[str, dict] = {}
    for n in range(count):
        clock.advance(timedelta(hours=rng.choice([1, 3, 7, 20])))
        raiser, other = rng.sample(range(24), 2)
        while AGENCIES[raiser % 6] == AGENCIES[other % 6]:
            other = rng.randrange(24)
        policy = POLICIES[n % 3]
        (first, *_) = bot.handle(
            RaiseEscalation(
                actor=f"w{raiser}",
                policy_id=policy,
                case_reference=f"REF-{n}",
                counterpart=f"w{other}",
                category="other",
                issue="Issue",
                risk="Risk",
                outcome_wanted="Outcome",
            )
        )
        esc_id = first.escalation_id
        known[esc_id] = {"policy": policy, "agencies": {AGENCIES[raiser % 6], AGENCIES[other % 6]},
                         "raiser": f"w{raiser}", "status": "open"}  # fmt: skip
        fate = rng.random()
        if fate < 0.2:
            bot.handle(Resolve(actor=f"w{raiser}", escalation_id=esc_id, outcome="Agreed"))
            known[esc_id]["status"] = "resolved"
        elif fate < 0.3:
            bot.handle(Withdraw(actor=f"w{raiser}", escalation_id=esc_id, reason="Not needed"))
            known[esc_id]["status"] = "withdrawn"
        elif fate < 0.45:
            bot.handle(EscalateStage(actor=f"w{raiser}", escalation_id=esc_id, reason="No agreement"))
    return known


def test_the_overdue_come_first_most_overdue_first_and_the_rest_newest_first(bot, store, clock):
    known = generated(bot, store, clock)
    clock.advance(timedelta(days=3))
    now = clock.now()
    listing = bot.list_all(limit=1000)
    assert listing.total == len(known) and listing.more == 0
    late = [r for r in listing.rows if r.status == "open" and r.due and r.due < now]
    assert late and listing.rows[: len(late)] == sorted(late, key=lambda r: r.due)  # most overdue first
    rest = listing.rows[len(late) :]
    assert [r.id for r in rest] == sorted((r.id for r in rest), reverse=True)  # newest first
    # Each overdue one says by how long, in working days that have ended since it fell due.
    oldest = late[0]
    days = sum(
        1
        for d in range(1, (now.date() - oldest.due.date()).days + 1)
        if (day := oldest.due.date() + timedelta(days=d)).weekday() < 5
        and not bot.calendar.is_bank_holiday(day)
        and (day < now.date() or now >= bot.calendar.end_of_day(day))
    )
    assert overdue_by(oldest, now, bot.calendar) == f"overdue {days} working day{'s' if days != 1 else ''}"


def test_the_whole_list_read_a_page_at_a_time_misses_and_repeats_nothing(bot, store, clock):
    """`list --json` reads the list a page at a time, each page from where the last one ended."""
    generated(bot, store, clock)
    clock.advance(timedelta(days=3))
    for f in (
        {},
        {"overdue": True},
        {"policy": "camden"},
        {"agency": "whittington health"},
        {"status": "open"},
    ):
        whole = [r.id for r in bot.list_all(ListFilter(**f), limit=1000).rows]
        paged = [r.id for rows in bot.list_every(ListFilter(**f), now=clock.now(), page=7) for r in rows]
        assert whole and paged == whole


def test_filters_and_a_capped_list_that_says_how_many_more(bot, store, clock):
    known = generated(bot, store, clock)
    clock.advance(timedelta(days=3))
    now = clock.now()

    def ids(**f) -> set[str]:
        return {r.id for r in bot.list_all(ListFilter(**f), limit=1000).rows}

    assert ids(policy="enfield") == {e for e, k in known.items() if k["policy"] == "enfield"}
    assert ids(agency="whittington health") == {
        e for e, k in known.items() if "Whittington Health" in k["agencies"]
    }
    assert ids(status="withdrawn") == {e for e, k in known.items() if k["status"] == "withdrawn"}
    overdue = ids(overdue=True)
    assert overdue and all(known[e]["status"] == "open" for e in overdue)
    assert overdue == {
        r.id for r in bot.list_all(limit=1000).rows if r.due and r.due < now and r.status == "open"
    }
    page = bot.list_all(ListFilter(policy="camden"), limit=25)
    camden = sum(1 for k in known.values() if k["policy"] == "camden")
    assert (len(page.rows), page.total, page.more) == (25, camden, camden - 25)
    second = bot.list_all(ListFilter(policy="camden"), limit=25, offset=25)
    assert second.more == camden - 50 and not {r.id for r in page.rows} & {r.id for r in second.rows}


def test_a_persons_list_says_how_many_on_every_page_even_past_the_end(bot, store, clock):
    known = generated(bot, store, clock, count=120)
    mine = sum(1 for k in known.values() if "w5" in (k["raiser"], k.get("counterpart")))
    whole = bot.list_for("w5", limit=1000)
    assert whole.total == len(whole.rows) >= mine > 2
    first = bot.list_for("w5", limit=2)
    assert (len(first.rows), first.total, first.more) == (2, whole.total, whole.total - 2)
    assert [r.id for r in first.rows] == [r.id for r in whole.rows[:2]]
    past = store.list_escalations(
        Scope(person_id="w5"), EVERY, now=clock.now(), limit=2, offset=whole.total + 5
    )
    assert past == ([], whole.total)


def test_a_person_lists_only_what_they_are_on(bot, store, clock):
    known = generated(bot, store, clock, count=120)
    mine = {e for e, k in known.items() if k["raiser"] == "w5"}
    listed = {r.id for r in bot.list_for("w5", limit=1000).rows}
    assert mine <= listed and all("w5" in r.participants for r in bot.list_for("w5", limit=1000).rows)


def test_a_lead_sees_their_agencys_escalations_read_only(bot, store, clock, nora):
    known = generated(bot, store, clock, count=150)
    theirs = {e for e, k in known.items() if "Whittington Health" in k["agencies"]}
    listing = bot.list_for("nora", limit=1000)
    assert {r.id for r in listing.rows} == theirs and listing.total == len(theirs)
    esc_id = sorted(theirs)[0]
    other = next(e for e, k in known.items() if "Whittington Health" not in k["agencies"])
    # Read and export: yes. Anything else, or another agency's: no.
    assert bot.show("nora", esc_id)
    with pytest.raises(
        Refused, match="as a safeguarding lead for Whittington Health, but only the people on it"
    ):
        bot.handle(AddNote(actor="nora", escalation_id=esc_id, discussed="I am not on this one"))
    with pytest.raises(Refused, match="only the people on it"):
        bot.handle(Resolve(actor="nora", escalation_id=esc_id, outcome="Closing it"))
    with pytest.raises(Refused, match="There is no escalation"):
        bot.show("nora", other)
    with pytest.raises(Refused, match="There is no escalation"):
        bot.export("nora", other)


def test_every_read_by_someone_not_on_it_is_in_the_history_and_the_export(bot, store, clock, nora):
    store.upsert_people([replace(store.person("dee"), admin=True)])
    (first, *_) = raise_difference(bot)  # Alex (Camden) with Sam (Whittington Health)
    esc_id = first.escalation_id
    bot.show("alex", esc_id)  # on it: not recorded
    clock.advance(timedelta(hours=1))
    bot.show("nora", esc_id)
    clock.advance(timedelta(hours=1))
    bot.export("dee", esc_id)
    clock.advance(timedelta(hours=1))
    record = bot.export("nora", esc_id)
    reads = [e for e in bot.load(esc_id).events if e.kind == "record_opened"]
    assert [(e.actor, e.data["what"]) for e in reads] == [
        ("nora", "read the summary"),
        ("dee", "exported the record"),
        ("nora", "exported the record"),
    ]
    table = record.split("## Read by people not on it", 1)[1]
    assert (
        "| 11am Tue 1 Dec 2026 | Nora Finch (Named Nurse, Whittington Health) | read the summary | "
        "a safeguarding lead for Whittington Health |" in table
    )
    assert (
        "| Dee Okafor (Partnership Business Manager, Partnership) | exported the record | "
        "a partnership admin |" in table
    )
    assert table.count("\n| ") == 1 + 3  # a header and three reads: the export making this one too
    assert "Alex Morgan" not in table


def test_a_lead_of_two_agencies_is_read_with_both_in_one_go(store, nora):
    # One read gives a person's list its scope: who they are, and the agencies they lead for.
    store.name_role_holder(Role.NAMED_LEAD, "Barnet, Enfield and Haringey Mental Health", "nora")
    person, agencies = store.person_and_lead_agencies("nora", LEAD_ROLES)
    assert person == store.person("nora")
    assert agencies == tuple(
        sorted(agency_key(a) for a in ("Whittington Health", "Barnet, Enfield and Haringey Mental Health"))
    )
    assert store.person_and_lead_agencies("alex", LEAD_ROLES) == (store.person("alex"), ())
    assert store.person_and_lead_agencies("nobody", LEAD_ROLES) == (None, ())


def test_a_lead_for_no_agency_involved_and_a_leaver_see_nothing(bot, store, nora):
    raise_difference(bot, counterpart="chris")  # Camden with Hillside: not Whittington
    assert bot.list_for("nora").rows == []
    store.deactivate("nora")
    (second, *_) = raise_difference(bot, case_reference="CIN-2")
    assert bot.list_for("nora").rows == []
    with pytest.raises(Refused):
        bot.show("nora", second.escalation_id)


@pytest.mark.sqlite_only
def test_lists_are_read_through_indexes(store):
    plan = " ".join(
        str(r)
        for r in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT escalation_id FROM escalation_people WHERE person_id = ?", ["x"]
        ).fetchall()
    )
    assert "escalation_people_person" in plan or "COVERING INDEX" in plan
    plan = " ".join(
        str(r)
        for r in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT escalation_id FROM escalation_agencies WHERE agency_key = ?", ["x"]
        ).fetchall()
    )
    assert "escalation_agencies_agency" in plan


def test_the_row_carries_what_a_report_needs(bot, clock):
    (first, *_) = raise_difference(bot, urgent=True)
    bot.handle(EscalateStage(actor="alex", escalation_id=first.escalation_id, reason="No agreement"))
    clock.advance(timedelta(days=1))
    bot.handle(Resolve(actor="alex", escalation_id=first.escalation_id, outcome="Agreed"))
    row = bot.list_for("alex").rows[0]
    assert (row.category, row.urgent, row.immediate_risk, row.highest_stage) == ("threshold", True, False, 2)
    assert (row.raiser_agency, row.counterpart_agency) == ("Camden Children's Services", "Whittington Health")
    assert (row.status, row.outcome_kind, row.ended_at) == (
        "resolved",
        "resolved by the raising side",
        london(2026, 12, 2, 10, 0),
    )
