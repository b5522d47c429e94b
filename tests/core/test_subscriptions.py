"""What comes to people unasked (issue 11, part 4): the admins' monthly learning report in office
hours, a safeguarding lead's digest for their agency when they ask, and each turned off per person."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.people import Person, Role
from support import london, raise_difference


def to(messages, person: str) -> list:
    return [m for m in messages if m.to == person]


def test_the_monthly_report_comes_at_9am_on_the_first_working_day_for_last_month(bot, store, clock, inbox):
    store.upsert_people([replace(store.person("dee"), admin=True)])
    raise_difference(bot)  # Tue 1 Dec 2026
    raise_difference(bot, policy_id="enfield", case_reference="CIN-2")
    inbox.collect()
    clock.set(london(2027, 1, 4, 8, 59))  # Fri 1 Jan is a bank holiday: Mon 4 Jan is the first working day
    bot.run_due()
    assert not [m for m in to(inbox.collect(), "dee") if m.data.get("report")]
    clock.set(london(2027, 1, 4, 9, 0))
    bot.run_due()
    reports = [m for m in to(inbox.collect(), "dee") if m.data.get("report")]
    assert [m.data["report"] for m in reports] == [
        {"policy": "camden", "from": "2026-12-01", "to": "2026-12-31"},
        {"policy": "enfield", "from": "2026-12-01", "to": "2026-12-31"},
    ]
    first = reports[0].text
    assert first.startswith("Your monthly learning report: ")
    assert (
        "December 2026" in first and "1 professional difference was raised under the Camden policy" in first
    )
    assert first.endswith("To stop these monthly reports: /escalate monthly off.")
    # Sent once; the next is planned for the first working day of February.
    bot.run_due()
    assert not [m for m in to(inbox.collect(), "dee") if m.data.get("report")]
    clock.set(london(2027, 2, 1, 9, 0))
    bot.run_due()
    assert not [m for m in to(inbox.collect(), "dee") if m.data.get("report")]  # none raised in January


def test_an_admin_named_for_one_policy_gets_that_ones_and_can_turn_it_off(bot, store, clock, inbox):
    store.upsert_people([replace(store.person("dee"), admin=True, admin_policies=("enfield",))])
    store.upsert_people([Person("ed", "Ed Chair", "Partnership", "Chair", admin=True)])
    raise_difference(bot)
    raise_difference(bot, policy_id="enfield", case_reference="CIN-2")
    assert bot.choose("ed", "monthly off").startswith("You will no longer get the monthly learning report")
    bot.run_due()  # the loop runs all the time: the month's report is planned well before it is due
    clock.set(london(2027, 1, 4, 9, 0))
    bot.run_due()
    received = inbox.collect()
    assert [m.data["report"]["policy"] for m in to(received, "dee") if m.data.get("report")] == ["enfield"]
    assert not [m for m in to(received, "ed") if m.data.get("report")]
    assert bot.choose("ed", "monthly") == (
        "The monthly learning report (the first working day of each month): off for you. "
        "Say “monthly on” or “monthly off”."
    )


def test_a_lead_asks_for_their_agencys_digest_and_an_admin_turns_theirs_off(bot, store, clock, inbox):
    store.upsert_people(
        [Person("nora", "Nora Finch", "Whittington Health", "Named Nurse", roles=(Role.NAMED_LEAD,))]
    )
    store.upsert_people([replace(store.person("dee"), admin=True)])
    raise_difference(bot)  # with Sam, of Whittington Health: due 5pm Tue 8 Dec
    raise_difference(bot, counterpart="chris", case_reference="CIN-2")  # not Whittington's
    assert bot.choose("nora", "digests on") == (
        "You will get the overdue digests (each working day at 9am, and the weekly one) for the "
        "escalations involving Whittington Health. Say “digests off” to stop it."
    )
    assert bot.choose("dee", "digests off").startswith("You will no longer get the overdue digests")
    assert "The directory does not show you as either" in bot.choose("sam", "digests on")
    bot.run_due()  # plans the digests
    inbox.collect()
    clock.set(london(2026, 12, 9, 9, 0))
    bot.run_due()
    received = inbox.collect()
    (digest,) = [m for m in to(received, "nora") if m.text.startswith("Overdue")]
    assert digest.text.startswith("Overdue: 1 professional difference involving Whittington Health")
    assert "E-0001" in digest.text and "E-0002" not in digest.text
    assert not [m for m in to(received, "dee") if "overdue" in m.text.lower()]


def test_a_lead_who_has_not_asked_gets_no_digest_and_a_leaver_none(bot, store, clock, inbox):
    store.upsert_people(
        [Person("nora", "Nora Finch", "Whittington Health", "Named Nurse", roles=(Role.NAMED_LEAD,))]
    )
    store.upsert_people(
        [Person("nina", "Nina Park", "Whittington Health", "Named Nurse", roles=(Role.NAMED_LEAD,))]
    )
    bot.choose("nina", "digests on")
    store.deactivate("nina")
    raise_difference(bot)
    bot.run_due()  # plans the digests
    clock.set(london(2026, 12, 9, 9, 0) + timedelta(minutes=1))
    bot.run_due()
    received = inbox.collect()
    assert not to(received, "nora") and not to(received, "nina")
