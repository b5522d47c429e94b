"""The escalation lifecycle as the people on it see it: raise, notes, stages, outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.commands import (
    AddNote,
    CorrectNote,
    EscalateStage,
    MilestoneDone,
    NameManager,
    Resolve,
    SetEarlierDue,
    Withdraw,
)
from bot.errors import InvalidInput, Refused
from bot.messages import ActionKind, MessageKind
from support import escalations, london, raise_difference

raise_ = raise_difference  # Alex raises the usual difference with Sam


def test_raise_tells_both_sides_what_happens_next_and_by_when(bot, inbox):
    raise_(bot)
    messages = inbox.collect()
    (to_alex,) = inbox.to(messages, "alex")
    (to_sam,) = inbox.to(messages, "sam")
    assert to_alex.kind is MessageKind.CASE and to_sam.kind is MessageKind.CASE
    assert "E-0001" in to_alex.text and "CIN-20931" in to_alex.text
    # Tue 1 Dec 10:00 start: 1 working week → Tue 8 Dec 17:00.
    assert "Due by 5pm Tue 8 Dec 2026" in to_alex.text
    assert "Stage 2: Discussion between frontline managers" in to_alex.text
    assert "Alex Morgan (Social Worker" in to_sam.text
    assert "missed appointments" in to_sam.text and "Keep health visiting open" in to_sam.text
    assert {a.kind for a in to_sam.actions} >= {ActionKind.ADD_NOTE, ActionKind.RESOLVE}
    assert ActionKind.WITHDRAW in {a.kind for a in to_alex.actions}
    assert ActionKind.WITHDRAW not in {a.kind for a in to_sam.actions}


def test_immediate_risk_shows_emergency_guidance_first_and_runs_urgent(bot, inbox):
    raise_(bot, immediate_risk=True)
    messages = inbox.collect()
    first = inbox.to(messages, "alex")[0]
    assert "call 999" in first.text and "designated safeguarding lead" in first.text
    assert "020 7974 3369" in first.text  # Camden's urgent dispute resolution line
    case = inbox.to(messages, "alex")[1]
    assert "URGENT" in case.text
    # 24 elapsed hours from Tue 1 Dec 10:00.
    assert "Due by 10am Wed 2 Dec 2026" in case.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"policy_id": "atlantis"}, "policy"),
        ({"case_reference": ""}, "case_reference"),
        ({"case_reference": "Baby <script>"}, "case_reference"),
        ({"counterpart": "nobody"}, "counterpart"),
        ({"counterpart": "alex"}, "counterpart"),
        ({"category": "weather"}, "category"),
        ({"issue": "   "}, "issue"),
        ({"risk": "x" * 5000}, "risk"),
        ({"outcome_wanted": ""}, "outcome_wanted"),
    ],
)
def test_bad_raise_input_is_reported_on_its_field_and_nothing_is_recorded(
    bot, store, inbox, overrides, field
):
    with pytest.raises(InvalidInput) as info:
        raise_(bot, **overrides)
    assert field in info.value.errors
    assert info.value.errors[field].endswith(".")
    assert escalations(store) == []
    assert inbox.collect() == []


@pytest.mark.parametrize("reference", ["Jane Smith", "Baby Smith", "smith-j"])
def test_a_case_reference_without_a_number_is_refused_as_perhaps_a_name(bot, store, reference):
    with pytest.raises(InvalidInput) as info:
        raise_(bot, case_reference=reference)
    assert "Never use the child's name" in info.value.errors["case_reference"]
    assert "e.g. CIN-20931" in info.value.errors["case_reference"]
    assert escalations(store) == []


def test_policy_without_timescales_asks_for_a_locally_agreed_target(bot, clock, inbox):
    with pytest.raises(InvalidInput) as info:
        raise_(bot, policy_id="cambridgeshire-peterborough", category="roles")
    message = info.value.errors["target_due"]
    # The suggestion is offered, never presented as policy: 5 working days → Tue 8 Dec 17:00.
    assert "sets no timescale" in message and "5pm Tue 8 Dec 2026" in message
    raise_(
        bot,
        policy_id="cambridgeshire-peterborough",
        category="roles",
        target_due=london(2026, 12, 4, 12),
    )
    to_alex = inbox.to(inbox.collect(), "alex")[0]
    assert "Due by 12pm Fri 4 Dec 2026 (locally agreed target, not a policy timescale)" in to_alex.text


def test_notes_are_recorded_relayed_and_deduplicated(bot, inbox):
    raise_(bot)
    inbox.collect()
    note = AddNote(actor="sam", escalation_id="E-0001", discussed="Phoned Alex.", platform_ref="m1")
    bot.handle(note)
    assert bot.handle(note) == []  # the same platform message delivered twice
    messages = inbox.collect()
    (noted,) = inbox.to(messages, "sam")
    assert noted.text.startswith("Noted on E-0001. For the record: how did this happen?")
    assert "Note from Sam Patel: Phoned Alex." in inbox.to(messages, "alex")[0].text
    record = bot.export("alex", "E-0001")
    assert record.count("Phoned Alex.") == 1


def test_a_correction_is_a_new_entry_and_the_original_stays(bot):
    raise_(bot)
    bot.handle(AddNote(actor="sam", escalation_id="E-0001", discussed="Spoke Monday.", platform_ref="m1"))
    bot.handle(CorrectNote(actor="sam", escalation_id="E-0001", platform_ref="m1", text="Spoke Tuesday."))
    bot.handle(CorrectNote(actor="sam", escalation_id="E-0001", platform_ref="m1", text=None))
    record = bot.export("alex", "E-0001")
    assert "Spoke Monday." in record and "Spoke Tuesday." in record
    assert "The original message was deleted." in record
    with pytest.raises(Refused):
        bot.handle(CorrectNote(actor="alex", escalation_id="E-0001", platform_ref="m1", text="x"))


def test_escalating_brings_in_both_line_managers_with_the_history(bot, clock, inbox):
    raise_(bot)
    bot.handle(AddNote(actor="sam", escalation_id="E-0001", discussed="We still disagree."))
    inbox.collect()
    clock.set(london(2026, 12, 8, 18))
    bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="No agreement"))
    messages = inbox.collect()
    for manager, colleague in (("jo", "Alex Morgan"), ("priya", "Sam Patel")):
        (case,) = inbox.to(messages, manager)
        assert case.kind is MessageKind.CASE
        assert f"as {colleague}'s manager" in case.text
        assert "What each side has said" in case.text and "We still disagree." in case.text
        # Tue 8 Dec 18:00 is after 17:00 → counts from Wed 9 Dec; 5 working days → Wed 16 Dec.
        assert "Due by 5pm Wed 16 Dec 2026" in case.text
    assert "moved this to the next stage" in inbox.to(messages, "sam")[0].text
    assert inbox.to(messages, "sam")[0].in_thread


def test_unknown_manager_is_asked_for_and_remembered(bot, store, clock, inbox):
    raise_(bot, counterpart="chris", category="roles")
    inbox.collect()
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    messages = inbox.collect()
    (question,) = [m for m in inbox.to(messages, "chris") if m.kind is MessageKind.QUESTION]
    assert "Stage 2 (Discussion between frontline managers) needs your line manager" in question.text
    assert "line manager" in question.text
    assert inbox.to(messages, "jo")  # the raising side's manager was known and told at once
    bot.handle(NameManager(actor="chris", person="chris", manager="kim"))
    messages = inbox.collect()
    (welcome,) = inbox.to(messages, "kim")
    assert "What each side has said" in welcome.text
    assert store.person("chris").manager_id == "kim"
    assert "kim" in bot.load("E-0001").participants()


def test_partnership_stage_brings_in_the_partnership_admins(bot, clock, inbox):
    raise_(bot, policy_id="redbridge", category="threshold")
    for _ in range(3):
        bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    messages = inbox.collect()
    esc = bot.load("E-0001")
    assert esc.stage.number == 4
    assert "dee" in esc.participants()
    (welcome,) = [m for m in inbox.to(messages, "dee") if m.kind is MessageKind.CASE]
    assert "partnership stage" in welcome.text and "What each side has said" in welcome.text
    record = bot.export("dee", "E-0001")
    assert "Stage 4 started" in record


def test_the_bot_copies_in_the_business_manager_where_the_policy_says_to(bot, inbox):
    # Redbridge 4.6: "The LSCB Business Manager should be copied into disagreements that have
    # escalated to this level." Dee is the partnership admin the directory names.
    raise_(bot, policy_id="redbridge", category="threshold")
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    inbox.collect()
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    messages = inbox.collect()
    (to_dee,) = inbox.to(messages, "dee")
    assert "copied in on this professional difference as the LSCB Business Manager" in to_dee.text
    assert "should be copied into disagreements that have escalated to this level" in to_dee.text
    assert "Baby of 8 months" in to_dee.text  # the summary, so the copy is worth having
    told = [m.text for m in messages if m.to != "dee" and "copy in" in m.text]
    assert told and all("LSCB Business Manager: Dee Okafor, copied in by the bot." in t for t in told)


def test_without_a_business_manager_people_are_told_to_copy_them_in(bot, store, inbox):
    from dataclasses import replace

    store.upsert_people([replace(store.person("dee"), admin=False)])
    raise_(bot, policy_id="redbridge", category="threshold")
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    inbox.collect()
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    texts = [m.text for m in inbox.collect()]
    assert any(
        "LSCB Business Manager: the bot knows no partnership admin for this policy, so please copy them "
        "in yourself (LSCB Business Manager: http://www.RedbridgeLSCB.org.uk)" in t
        for t in texts
    )


def test_due_time_can_only_be_brought_forward(bot, clock, inbox):
    raise_(bot)
    with pytest.raises(InvalidInput) as later:
        bot.handle(SetEarlierDue(actor="sam", escalation_id="E-0001", due=london(2026, 12, 9, 17), reason=""))
    assert (
        later.value.errors["due"]
        == "It's currently due by 5pm Tue 8 Dec 2026. You can only bring it forward."
    )
    with pytest.raises(InvalidInput):
        bot.handle(SetEarlierDue(actor="sam", escalation_id="E-0001", due=london(2026, 11, 30, 9), reason=""))
    bot.handle(
        SetEarlierDue(
            actor="sam",
            escalation_id="E-0001",
            due=london(2026, 12, 3, 12),
            reason="Discharge Thursday",
        )
    )
    esc = bot.load("E-0001")
    assert esc.stage.due == london(2026, 12, 3, 12)
    assert esc.stage.policy_due == london(2026, 12, 8, 17)
    texts = [m.text for m in inbox.collect()]
    assert any("now due by 12pm Thu 3 Dec 2026" in t and "Discharge Thursday" in t for t in texts)


def test_withdraw_is_for_the_raising_side_and_ends_the_reminders(bot, store, inbox):
    raise_(bot)
    with pytest.raises(Refused):
        bot.handle(Withdraw(actor="sam", escalation_id="E-0001", reason="No"))
    with pytest.raises(InvalidInput):
        bot.handle(Withdraw(actor="alex", escalation_id="E-0001", reason=" "))
    bot.handle(Withdraw(actor="alex", escalation_id="E-0001", reason="Resolved at the core group"))
    assert bot.load("E-0001").status == "withdrawn"
    assert store.pending_reminders("E-0001") == []
    with pytest.raises(InvalidInput):
        bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))


def test_resolution_records_agreed_actions_and_tells_everyone(bot, clock, inbox):
    raise_(bot)
    bot.handle(EscalateStage(reason="No agreement", actor="sam", escalation_id="E-0001"))
    inbox.collect()
    clock.advance(timedelta(hours=2))
    bot.handle(
        Resolve(
            actor="jo",
            escalation_id="E-0001",
            outcome="Visits continue",
            agreed_actions=("Joint visit",),
        )
    )
    messages = inbox.collect()
    assert {m.to for m in messages} == {"alex", "sam", "jo", "priya"}
    assert all(m.text.startswith("Resolved: Jo Bennett closed E-0001") for m in messages)
    assert all("Outcome: Visits continue" in m.text for m in messages)
    assert all("Joint visit" in m.text for m in messages)
    row = bot.list_for("alex").rows[0]
    assert row.status == "resolved" and row.due is None


def test_redbridge_resolution_plans_the_written_confirmation(bot, store, clock, inbox):
    raise_(bot, policy_id="redbridge", category="threshold")
    inbox.collect()
    bot.handle(Resolve(actor="alex", escalation_id="E-0001", outcome="Agreed a plan"))
    messages = inbox.collect()
    # Tue 1 Dec 10:00 → 2 working days → Thu 3 Dec 17:00.
    assert "Confirm the outcome in writing by 5pm Thu 3 Dec 2026" in messages[0].text.replace(
        "Still to do: ", ""
    ).replace("confirm", "Confirm")
    assert [r.kind for r in store.pending_reminders("E-0001")] == ["milestone", "milestone_check"]
    clock.set(london(2026, 12, 3, 9))
    (sent,) = [m for m in bot.run_due() if m.escalation_id == "E-0001"]
    # Only the person it falls to: who must do what, with whom, by when; one tap for Done.
    assert sent.to == "sam"
    assert sent.text.splitlines()[0] == (
        "To do: Sam Patel: Confirm the outcome in writing (with Alex Morgan) by 5pm Thu 3 Dec 2026"
    )
    (done,) = sent.actions
    assert (done.kind, done.ref) == (ActionKind.MILESTONE_DONE, "confirm-outcome")
    with pytest.raises(Refused):
        bot.handle(MilestoneDone(actor="alex", escalation_id="E-0001", milestone="confirm-outcome"))
    bot.handle(MilestoneDone(actor="sam", escalation_id="E-0001", milestone="confirm-outcome"))
    clock.set(london(2026, 12, 3, 17))
    bot.run_due()
    record = bot.export("alex", "E-0001")
    assert "Step done: Confirm the outcome in writing" in record
    assert "Step missed" not in record


def test_a_step_not_marked_done_by_its_due_time_is_recorded_as_missed(bot, clock):
    raise_(bot, policy_id="redbridge", category="threshold")
    bot.handle(Resolve(actor="alex", escalation_id="E-0001", outcome="Agreed a plan"))
    clock.set(london(2026, 12, 3, 17))
    bot.run_due()
    record = bot.export("alex", "E-0001")
    assert "Step missed: Confirm the outcome in writing" in record
    assert "was due by 5pm Thu 3 Dec 2026" in record


def test_final_stage_outcome_closes_the_escalation(bot, inbox):
    raise_(bot, policy_id="enfield", category=bot.policies.get("enfield").categories[0].id)
    for _ in range(3):
        bot.handle(
            EscalateStage(
                reason="No agreement",
                actor="alex",
                escalation_id="E-0001",
                target_due=london(2026, 12, 20, 12),
            )
        )
    with pytest.raises(InvalidInput):
        bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    bot.handle(Resolve(actor="dee", escalation_id="E-0001", outcome="Chair's recommendations accepted"))
    assert bot.load("E-0001").status == "closed"


def test_enfield_stage_one_involves_the_line_managers_from_the_start(bot, inbox):
    raise_(bot, policy_id="enfield", category=bot.policies.get("enfield").categories[0].id)
    messages = inbox.collect()
    assert {m.to for m in messages if m.kind is MessageKind.CASE} == {"alex", "sam", "jo", "priya"}
    to_jo = inbox.to(messages, "jo")[0].text
    assert "We've messaged Sam Patel, Jo Bennett and Priya Nair." in inbox.to(messages, "alex")[0].text
    # Tue 1 Dec 10:00: "next working day" → Wed 2 Dec 17:00; informed "same working day" → Tue 17:00.
    assert "Due by 5pm Wed 2 Dec 2026" in to_jo
    assert "Line managers informed: by 5pm Tue 1 Dec 2026" in to_jo


def test_redbridge_raising_late_is_flagged_but_never_blocked(bot, inbox):
    from datetime import date

    # Disagreement on Wed 25 Nov: 2 working days → Fri 27 Nov 17:00; raised Tue 1 Dec.
    raise_(bot, policy_id="redbridge", category="threshold", disagreement_on=date(2026, 11, 25))
    to_alex = inbox.to(inbox.collect(), "alex")[0].text
    assert "within 2 working days of the disagreement (by 5pm Fri 27 Nov 2026)" in to_alex
    assert "The disagreement arose on 2026-11-25" in bot.export("alex", "E-0001")
    with pytest.raises(InvalidInput) as info:
        raise_(bot, policy_id="redbridge", category="threshold", disagreement_on=date(2026, 12, 2))
    assert "disagreement_on" in info.value.errors


def test_redbridge_raising_in_time_says_nothing_about_lateness(bot, inbox):
    from datetime import date

    raise_(bot, policy_id="redbridge", category="threshold", disagreement_on=date(2026, 11, 30))
    assert "That has passed" not in inbox.to(inbox.collect(), "alex")[0].text


def test_enfield_says_who_the_equivalent_is_at_each_level(bot, store, inbox):
    from bot.people import Person

    store.upsert_people(
        [
            Person("pc", "Pat Cole", "Met Police", "Police Constable", manager_id="ds"),
            Person("ds", "Dana Sloan", "Met Police", "Detective Sergeant"),
        ]
    )
    raise_(bot, policy_id="enfield", counterpart="pc", category=bot.policies.get("enfield").categories[0].id)
    to_ds = inbox.to(inbox.collect(), "ds")[0].text
    assert "Equivalent roles at level 2 (indicative)" in to_ds
    assert "Met Police: Detective Sergeant" in to_ds


def test_urgent_without_an_urgent_timescale_prompts_an_earlier_due_time(bot, inbox):
    raise_(bot, policy_id="redbridge", category="threshold", urgent=True)
    to_alex = inbox.to(inbox.collect(), "alex")[0]
    assert "no shorter urgent timescale: set an earlier due time" in to_alex.text
    assert any(a.kind is ActionKind.SET_EARLIER_DUE for a in to_alex.actions)


def test_enfield_stage_three_after_the_overall_five_days_says_it_is_already_due(bot, clock, inbox):
    raise_(bot, policy_id="enfield", category=bot.policies.get("enfield").categories[0].id)
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    clock.set(london(2026, 12, 9, 11))  # past 5 working days from Tue 1 Dec (Tue 8 Dec 17:00)
    inbox.collect()
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    texts = [m.text for m in inbox.collect()]
    assert any(
        "Already due: the policy's time for this, counted from the start of stage 1" in t for t in texts
    )


def test_editing_a_policy_file_never_moves_a_running_escalations_deadline(store, clock, tmp_path):
    import shutil

    from bot.core import EscalationBot
    from bot.policy import PolicyLibrary
    from support import REPO

    folder = tmp_path / "policies"
    shutil.copytree(REPO / "policies", folder, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    first = EscalationBot(store=store, policies=PolicyLibrary.load(folder), clock=clock)
    raise_(first)
    camden = folder / "camden.yaml"
    camden.write_text(
        camden.read_text(encoding="utf-8").replace("standard: 1 working week", "standard: 2 working days"),
        encoding="utf-8",
    )
    edited = EscalationBot(store=store, policies=PolicyLibrary.load(folder), clock=clock)
    assert edited.policies.get("camden").stage(1).standard.amount == 2
    assert edited.load("E-0001").stage.due == london(2026, 12, 8, 17)  # still 1 working week
    edited.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    assert edited.load("E-0001").stage.due == london(2026, 12, 8, 17)  # stage 2 by the snapshot too
