"""Reminders: planned from deadlines, sent once, never lost across a restart or a second copy."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from bot.clock import ManualClock
from bot.commands import EscalateStage, RaiseEscalation, Resolve
from bot.core import EscalationBot
from bot.messages import ActionKind, MessageKind
from bot.people import Person
from bot.storage import Storage
from support import PEOPLE, london, raise_difference


def raise_camden(bot, counterpart="sam"):
    bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="camden",
            case_reference="CIN-1",
            counterpart=counterpart,
            category="threshold",
            issue="Issue",
            risk="Risk",
            outcome_wanted="Outcome",
        )
    )


def test_reminders_are_planned_ahead_at_and_after_the_due_time(bot, store):
    raise_camden(bot)
    planned = [(r.kind, r.due_at) for r in store.pending_reminders("E-0001")]
    assert planned == [
        ("ahead", london(2026, 12, 8, 9)),  # the morning of the due day
        ("due", london(2026, 12, 8, 17)),
        ("overdue", london(2026, 12, 9, 10)),  # the next working morning
    ]


def test_due_reminder_asks_whether_it_is_resolved_or_should_go_to_the_next_stage(bot, clock):
    raise_camden(bot)
    clock.set(london(2026, 12, 8, 17))
    sent = bot.run_due()
    assert {m.to for m in sent} == {"alex", "sam"}
    due = [m for m in sent if "due now" in m.text]
    assert len(due) == 2
    assert "Is it resolved? If not, escalate to stage 2" in due[0].text
    assert all(m.kind is MessageKind.REMINDER and m.actions for m in due)
    assert bot.run_due() == []  # nothing is sent twice


def test_an_overdue_stage_tells_each_person_what_to_do_and_the_managers_once(bot, clock, store):
    raise_camden(bot)
    clock.set(london(2026, 12, 9, 10))
    sent = {m.to: m for m in bot.run_due() if m.text.startswith("Overdue:")}
    assert set(sent) == {"alex", "sam", "jo", "priya"}
    for m in sent.values():
        assert m.text.splitlines()[0] == "Overdue: E-0001 stage 1 was due 5pm Tue 8 Dec 2026"
    assert "tap Escalate to move it to stage 2: Discussion between frontline managers" in sent["alex"].text
    assert "Talk to Alex Morgan. If you think it is resolved, tap Resolved" in sent["sam"].text
    assert "Please talk to Alex Morgan about it." in sent["jo"].text
    # Jo is not on the escalation yet, so the notice carries none of its content.
    assert "Issue" not in sent["jo"].text and "Risk" not in sent["jo"].text and "CIN-1" not in sent["jo"].text
    # An overdue stage offers no earlier due time.
    assert all(a.kind is not ActionKind.SET_EARLIER_DUE for a in sent["alex"].actions)
    # The next working morning its own people are chased again; the managers were told once.
    clock.set(london(2026, 12, 10, 10))
    chased = {m.to for m in bot.run_due() if m.escalation_id == "E-0001"}
    assert chased == {"alex", "sam"}
    # The record has one entry for the stage's chasing, not one per chase.
    record = bot.export("alex", "E-0001")
    assert record.count("Overdue at stage 1") == 1
    assert "Chased 2 times, between 10am Wed 9 Dec 2026 and 10am Thu 10 Dec 2026." in record
    assert "The next level up (Jo Bennett (Team Manager, Camden Children's Services); Priya Nair" in record


def test_each_sweep_reads_the_directory_afresh(bot, clock, store):
    """A sweep reads each person once; the next sweep sees what the directory says by then."""
    raise_camden(bot)
    clock.set(london(2026, 12, 8, 17))
    assert "Talk to Alex Morgan" not in " ".join(m.text for m in bot.run_due())  # due now: no names
    (alex,) = [p for p in PEOPLE if p.id == "alex"]
    (sam,) = [p for p in PEOPLE if p.id == "sam"]
    store.upsert_people(
        [
            replace(alex, name="Alex Morgan-Reid"),
            replace(sam, manager_id="nina"),
            Person("nina", "Nina Brooks", "Whittington Health", "Health Visiting Service Lead"),
        ]
    )
    store.deactivate("jo")  # Alex's manager has left
    clock.set(london(2026, 12, 9, 10))
    sent = {m.to: m for m in bot.run_due() if m.text.startswith("Overdue: E-0001")}
    assert set(sent) == {"alex", "sam", "nina"}
    assert "Talk to Alex Morgan-Reid." in sent["sam"].text
    assert "Please talk to Sam Patel about it." in sent["nina"].text


def test_with_no_known_managers_the_partnership_hears_in_the_morning_digest(bot, clock, store):
    raise_difference(bot, actor="chris", case_reference="S-1", counterpart="ravi", category="roles")
    clock.set(london(2026, 12, 9, 10))
    assert "dee" not in {m.to for m in bot.run_due()}  # no message per escalation
    clock.set(london(2026, 12, 10, 9))
    (digest,) = [m for m in bot.run_due() if m.to == "dee"]
    assert digest.text.splitlines()[0] == "Overdue: 1 professional difference in your policies"
    assert "E-0001 · case S-1 · stage 1 was due 5pm Tue 8 Dec 2026" in digest.text


def test_moving_on_replaces_the_old_stage_reminders(bot, clock, store):
    raise_camden(bot)
    clock.set(london(2026, 12, 3, 10))
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    pending = store.pending_reminders("E-0001")
    assert {r.stage for r in pending} == {2}
    # Thu 3 Dec 10:00 → 5 working days → Thu 10 Dec 17:00.
    assert max(r.due_at for r in pending if r.kind == "due") == london(2026, 12, 10, 17)
    bot.handle(Resolve(actor="jo", escalation_id="E-0001", outcome="Agreed"))
    assert store.pending_reminders("E-0001") == []
    clock.set(london(2026, 12, 31, 10))
    assert bot.run_due() == []


def test_stale_heads_up_is_skipped_when_the_due_time_has_passed_meanwhile(bot, clock):
    raise_camden(bot)
    clock.set(london(2026, 12, 8, 18))  # the bot was down all of Tuesday
    sent = bot.run_due()
    assert not any("Reminder: stage 1 is due by" in m.text for m in sent)
    assert sum("due now" in m.text for m in sent) == 2


def test_restart_sends_what_fell_due_while_down_exactly_once(database_url, store, policies, clock):
    raise_camden(EscalationBot(store=store, policies=policies, clock=clock))
    store.close()  # the process stops on Tuesday 1 Dec …

    later = ManualClock(london(2026, 12, 9, 11))  # … and starts again the following Wednesday
    reopened = Storage.open(database_url)
    restarted = EscalationBot(store=reopened, policies=policies, clock=later)
    sent = restarted.run_due()
    assert sum("due now" in m.text for m in sent) == 2
    assert sum(m.text.startswith("Overdue: E-0001") for m in sent) == 4
    assert restarted.run_due() == []
    # The outbox kept them too: a crash after claiming would still deliver them.
    assert reopened.outbox_counts()["pending"] >= len(sent)
    reopened.close()

    again = Storage.open(database_url)
    assert EscalationBot(store=again, policies=policies, clock=later).run_due() == []
    again.close()


def test_two_running_copies_never_send_the_same_reminder(database_url, store, policies, clock):
    raise_camden(EscalationBot(store=store, policies=policies, clock=clock))
    for _n in range(2, 12):
        raise_camden(EscalationBot(store=store, policies=policies, clock=clock))
    at = ManualClock(london(2026, 12, 8, 17, 30))
    results: list[list] = [[], []]
    barrier = threading.Barrier(2)

    def run(slot: int) -> None:
        copy = Storage.open(database_url)
        bot = EscalationBot(store=copy, policies=policies, clock=at)
        barrier.wait()
        results[slot] = bot.run_due()
        copy.close()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [(m.to, m.escalation_id, m.text) for m in results[0] + results[1]]
    assert len(keys) == len(set(keys))
    # 11 escalations, 2 people each, the "due now" reminder (the stale heads-up is skipped).
    assert sum("due now" in k[2] for k in keys) == 22


def test_next_wakeup_is_the_earliest_pending_reminder(bot, clock):
    assert bot.next_wakeup() is None
    raise_camden(bot)
    assert bot.next_wakeup() == london(2026, 12, 8, 9)
    clock.advance(timedelta(days=7))
    bot.run_due()
    assert bot.next_wakeup() == london(2026, 12, 8, 17)


def test_a_backlog_larger_than_one_batch_goes_out_in_one_run(bot, clock):
    for _ in range(60):
        raise_camden(bot)
    clock.set(london(2026, 12, 8, 17, 30))  # 60 stale heads-ups and 60 due reminders are waiting
    sent = bot.run_due()
    assert sum("due now" in m.text for m in sent) == 120
    assert bot.next_wakeup() == london(2026, 12, 9, 9)  # the admins' digest, then the chases at 10


def test_a_batch_paused_for_requests_leaves_the_rest_for_the_next_and_sends_each_once(bot, clock):
    for _ in range(5):
        raise_camden(bot)
    clock.set(london(2026, 12, 8, 17, 30))  # 5 stale heads-ups and 5 due reminders are waiting
    now = clock.now()
    first = bot.send_due_batch(now, limit=10, pause=lambda: True)  # a request arrived at once
    assert first is not None  # one reminder dealt with, the other nine given back
    assert sum(r.due_at <= now for r in bot.store.pending_reminders()) == 9
    rest = []
    while (batch := bot.send_due_batch(now, limit=10)) is not None:
        rest += batch
    sent = [(m.to, m.text) for m in first + rest if "due now" in m.text]
    assert len(sent) == 10 and len(set(sent)) == 10  # each due reminder, to both sides, once


def test_a_batch_a_request_arrives_before_sends_nothing_and_gives_nothing_back(bot, clock):
    # The sweep asks for it when it has not had to wait out a burst: no reminder is claimed.
    for _ in range(3):
        raise_camden(bot)
    clock.set(london(2026, 12, 8, 17, 30))
    now = clock.now()
    due = sorted(r.id for r in bot.store.pending_reminders() if r.due_at <= now)
    assert bot.send_due_batch(now, limit=10, pause=lambda: True, at_least_one=False) == []
    assert sorted(r.id for r in bot.store.pending_reminders() if r.due_at <= now) == due
    sent = bot.send_due_batch(now, limit=10, pause=lambda: False, at_least_one=False)
    assert sent is not None and sum("due now" in m.text for m in sent) == 6  # three, to both sides


def test_a_batch_reads_afresh_what_the_batch_before_it_left_unused(bot, clock, store):
    # A batch paused for requests leaves histories it read but did not use; those requests may
    # have changed them, so the next batch must not be served the old copies.
    from bot.commands import AddNote

    raise_camden(bot)
    raise_camden(bot)
    sweep = bot.sweeper()
    sweep.store.read_histories(["E-0001", "E-0002"])  # the first batch's read
    sweep.store.events("E-0001")  # ...and all it used before it paused
    bot.handle(AddNote(actor="alex", escalation_id="E-0002", discussed="Spoke to Sam at noon."))
    sweep.store.read_histories(["E-0002"])  # the next batch
    assert sweep.load("E-0002").notes[-1].discussed == "Spoke to Sam at noon."


def test_a_batch_reads_the_directory_afresh_after_requests_changed_it(bot, clock, store):
    # Between two batches the server answers requests; one may change the directory.
    raise_camden(bot)
    raise_camden(bot)
    sweep = bot.sweeper()
    sweep.store.read_histories(["E-0001"])  # the first batch's read
    assert sweep.store.person("sam").name == "Sam Patel"
    (sam,) = [p for p in store.people() if p.id == "sam"]
    store.upsert_people([replace(sam, name="Samira Patel")])  # through the server's store
    sweep.store.read_histories(["E-0002"])  # the next batch
    assert sweep.store.person("sam").name == "Samira Patel"


def test_after_a_long_outage_an_overdue_stage_is_chased_once_not_in_a_burst(bot, clock):
    raise_camden(bot)
    clock.set(london(2026, 12, 15, 11))  # down from Tue 1 Dec to the following Tuesday
    sent = bot.run_due()
    to_alex = [m.text for m in sent if m.to == "alex"]
    assert sum("due now" in t for t in to_alex) == 1
    assert sum(t.startswith("Overdue:") for t in to_alex) == 1
    # Its first week of daily chases (9-15 Dec) went by while the bot was down: next is weekly.
    assert [r.due_at for r in bot.store.pending_reminders("E-0001")] == [london(2026, 12, 22, 10)]


def test_a_working_day_stage_brought_forward_is_chased_on_working_mornings(bot, clock, store):
    from bot.commands import SetEarlierDue

    raise_camden(bot)
    bot.handle(SetEarlierDue(actor="sam", escalation_id="E-0001", due=london(2026, 12, 4, 15), reason=""))
    overdue = [r.due_at for r in store.pending_reminders("E-0001") if r.kind == "overdue"]
    assert overdue == [london(2026, 12, 7, 10)]  # Fri 3pm due → Mon 10am, not every 2 hours all weekend


def test_an_urgent_stage_is_chased_every_four_hours_but_never_at_night(bot, clock, store):
    bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="camden",
            case_reference="CP-9",
            counterpart="sam",
            category="threshold",
            issue="I",
            risk="R",
            outcome_wanted="O",
            urgent=True,
        )
    )
    planned = {r.kind: r.due_at for r in store.pending_reminders("E-0001")}
    # 24 hours from Tue 10:00. Four hours before would be 6am, in quiet hours: it waits until 7am.
    assert planned == {
        "ahead": london(2026, 12, 2, 7),
        "due": london(2026, 12, 2, 10),
        "overdue": london(2026, 12, 2, 14),
    }
    chases = []
    for _ in range(5):
        next_chase = min(r.due_at for r in store.pending_reminders("E-0001") if r.kind == "overdue")
        clock.set(next_chase)
        bot.run_due()
        chases.append(next_chase)
    # 2pm, 6pm; 10pm and 2am are quiet, so 7am; then 10am, the end of its first overdue day;
    # then once a working day.
    assert chases == [
        london(2026, 12, 2, 14),
        london(2026, 12, 2, 18),
        london(2026, 12, 3, 7),
        london(2026, 12, 3, 10),
        london(2026, 12, 4, 10),
    ]


def test_bringing_the_due_time_forward_does_not_resend_a_milestone_reminder(bot, clock, store):
    from bot.commands import SetEarlierDue

    bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="redbridge",
            case_reference="R-1",
            counterpart="sam",
            category="threshold",
            issue="I",
            risk="R",
            outcome_wanted="O",
        )
    )
    clock.set(london(2026, 12, 4, 9, 30))
    first = bot.run_due()  # the 9am heads-up: speak to the concerned professional by 5pm Fri
    assert sum("Speak to the concerned professional" in m.text for m in first) == 1
    clock.set(london(2026, 12, 4, 10))
    bot.handle(SetEarlierDue(actor="sam", escalation_id="E-0001", due=london(2026, 12, 4, 14), reason=""))
    assert not any("Speak to the concerned professional" in m.text for m in bot.run_due())


def test_at_enfields_first_stage_the_professionals_are_reminded_as_well_as_their_managers(bot, clock):
    bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="enfield",
            case_reference="E-1",
            counterpart="sam",
            category=bot.policies.get("enfield").categories[0].id,
            issue="I",
            risk="R",
            outcome_wanted="O",
        )
    )
    clock.set(london(2026, 12, 2, 17))  # stage 1 ("next working day") falls due
    due_now = {m.to for m in bot.run_due() if "due now" in m.text}
    assert due_now == {"alex", "sam", "jo", "priya"}
