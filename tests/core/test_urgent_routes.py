"""Urgent routes: each policy's own route for an urgent difference is shown when a difference is
raised or marked urgent, and offered again when an urgent stage falls due."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.slack.blocks import raise_modal
from adapters.teams.cards import raise_card
from bot.commands import EscalateStage, MarkUrgent, RaiseEscalation
from bot.errors import InvalidInput
from bot.messages import ActionKind, MessageKind
from bot.people import Role
from support import london

CAMDEN_ROUTE = (
    "Head of Children Quality Assurance (020 7974 3369): Decides on any action needed while the dispute "
    "is being resolved through the stages."
)


def raise_(bot, policy_id="camden", **overrides):
    fields = dict(
        actor="alex",
        policy_id=policy_id,
        case_reference="CIN-20931",
        counterpart="sam",
        category=bot.policies.get(policy_id).categories[0].id,
        issue="Health visiting plans to close the case.",
        risk="Baby of 8 months; missed appointments.",
        outcome_wanted="Keep health visiting open until the review.",
    )
    fields.update(overrides)
    return bot.handle(RaiseEscalation(**fields))


def test_a_difference_raised_as_urgent_shows_camdens_urgent_route_to_both_sides(bot, inbox):
    # Camden 4: "If you require an urgent dispute resolution, the matter should be referred to the
    # Head of Children Quality Assurance on 020 7974 3369".
    raise_(bot, urgent=True)
    messages = inbox.collect()
    for person in ("alex", "sam"):
        (case,) = [m for m in inbox.to(messages, person) if m.kind is MessageKind.CASE]
        assert "Urgent route in the Camden policy:" in case.text
        assert CAMDEN_ROUTE in case.text


def test_a_difference_that_is_not_urgent_does_not_show_it(bot, inbox):
    raise_(bot)
    assert not any("020 7974 3369" in m.text for m in inbox.collect())


def test_enfields_round_table_is_offered_naming_who_holds_its_roles(bot, store, inbox):
    # Enfield 7: "convening a 'short notice response' round table discussion, to include Heads of
    # Service/ DCI/ Designated leads".
    store.upsert_people(
        [
            replace(store.person("ravi"), roles=(Role.HEAD_OF_SERVICE,)),
            replace(store.person("priya"), roles=(Role.DESIGNATED_PROFESSIONAL,)),
        ]
    )
    raise_(bot, "enfield", urgent=True)
    (case,) = [m for m in inbox.to(inbox.collect(), "alex") if m.kind is MessageKind.CASE]
    assert "Urgent route in the Enfield policy (complex high-risk cases):" in case.text
    assert (
        "'short notice response' round table discussion, to include Heads of Service/ DCI/ Designated"
        in case.text
    )
    assert (
        "In the directory: head of service for Camden Children's Services: Ravi Shah; "
        "designated safeguarding professional for Whittington Health: Priya Nair." in case.text
    )


def test_marking_urgent_brings_the_stage_forward_and_tells_everyone(bot, clock, inbox):
    raise_(bot)  # Tue 1 Dec 10:00, due Tue 8 Dec 17:00
    inbox.collect()
    clock.set(london(2026, 12, 3, 9, 30))
    bot.handle(MarkUrgent(actor="sam", escalation_id="E-0001", reason="Baby seen with a new bruise."))
    messages = inbox.collect()
    assert {m.to for m in messages} == {"alex", "sam"}
    text = messages[0].text
    assert text.splitlines()[0] == "Urgent: Sam Patel marked E-0001 urgent"
    assert text.splitlines()[1].endswith("· URGENT")
    assert "Sam Patel marked this urgent: Baby seen with a new bruise." in text
    assert "urgent timescale (24 hours), stage 1 is now due by 9:30am Fri 4 Dec 2026." in text
    assert CAMDEN_ROUTE in text
    esc = bot.load("E-0001")
    assert esc.urgent and esc.stage.due == london(2026, 12, 4, 9, 30)
    assert "Marked urgent" in bot.export("alex", "E-0001")
    # The next stage runs on the urgent timescale too.
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    assert bot.load("E-0001").stage.due == london(2026, 12, 4, 9, 30)
    with pytest.raises(InvalidInput, match="already urgent"):
        bot.handle(MarkUrgent(actor="alex", escalation_id="E-0001", reason="Again"))


def test_marking_urgent_never_pushes_a_due_time_later(bot, clock, inbox):
    raise_(bot)
    clock.set(london(2026, 12, 8, 12))  # due at 17:00 today: 24 hours would be later
    bot.handle(MarkUrgent(actor="alex", escalation_id="E-0001", reason="Increased risk."))
    assert bot.load("E-0001").stage.due == london(2026, 12, 8, 17)
    assert "is now due by" not in inbox.collect()[-1].text


def test_without_an_urgent_timescale_marking_urgent_asks_for_an_earlier_due_time(bot, inbox):
    raise_(bot, "redbridge")
    inbox.collect()
    bot.handle(MarkUrgent(actor="alex", escalation_id="E-0001", reason="Delay would fail to protect."))
    text = inbox.collect()[0].text
    assert "gives no shorter urgent timescale for this stage: set an earlier due time" in text
    assert "Urgent route" not in text  # Redbridge names none


def test_the_mark_urgent_button_is_offered_only_where_it_means_something(bot, inbox):
    raise_(bot)
    (case,) = [m for m in inbox.to(inbox.collect(), "sam") if m.kind is MessageKind.CASE]
    assert ActionKind.MARK_URGENT in {a.kind for a in case.actions}
    raise_(bot, urgent=True, case_reference="CIN-2")
    (case,) = [m for m in inbox.to(inbox.collect(), "sam") if m.kind is MessageKind.CASE]
    assert ActionKind.MARK_URGENT not in {a.kind for a in case.actions}
    # A closed difference cannot be marked urgent.
    from bot.commands import Withdraw

    bot.handle(Withdraw(actor="alex", escalation_id="E-0001", reason="Agreed after all."))
    with pytest.raises(InvalidInput, match="already withdrawn"):
        bot.handle(MarkUrgent(actor="alex", escalation_id="E-0001", reason="x"))


def test_cambridgeshire_and_peterboroughs_imminent_risk_route_is_its_urgent_route(bot, inbox):
    # "NOTE: If a child is thought to be at imminent risk of harm, the matter should be referred
    # immediately to the Police/ Social Care to decide what action to take to safeguard/protect the
    # child whilst the dispute is being resolved."
    raise_(bot, "cambridgeshire-peterborough", urgent=True, target_due=london(2026, 12, 2, 17))
    (case,) = [m for m in inbox.to(inbox.collect(), "sam") if m.kind is MessageKind.CASE]
    assert "Urgent route in the Cambridgeshire & Peterborough policy:" in case.text
    assert (
        "Police/ Social Care, referred to immediately: Decide what action to take to safeguard/protect "
        "the child whilst the dispute is being resolved." in case.text
    )


def test_the_route_is_offered_again_when_an_urgent_stage_falls_due(bot, clock, inbox):
    raise_(bot, urgent=True)
    inbox.collect()
    clock.advance(timedelta(hours=24, minutes=1))
    bot.run_due()
    due = [m for m in inbox.collect() if "is due now" in m.text]
    assert due and all(CAMDEN_ROUTE in m.text for m in due)


def test_only_people_on_it_may_mark_it_urgent(bot):
    from bot.errors import Refused

    raise_(bot)
    with pytest.raises(Refused):
        bot.handle(MarkUrgent(actor="eve", escalation_id="E-0001", reason="x"))


@pytest.mark.parametrize(
    "policy_id", ["cambridgeshire-peterborough", "camden", "enfield", "kingston-richmond", "redbridge"]
)
def test_the_raise_forms_offer_urgent_in_the_policys_words(policies, policy_id, clock):
    policy = policies.get(policy_id)
    modal = raise_modal(
        policies=[policy],
        policy=policy,
        risk_now=False,
        emergency=None,
        ask_about_me=False,
        preview="",
        suggested_target=clock.now(),
    )
    (urgent,) = [b for b in modal["blocks"] if b.get("block_id") == "urgent"]
    assert urgent["element"]["options"][0]["text"]["text"] == "Yes, it is urgent"
    # The policy's own words for when, in full (an option holds only 75 characters).
    when = policy.urgent_when
    assert (
        urgent["hint"]["text"] == f"The {policy.short_name} policy: urgent when {when[0].lower()}{when[1:]}."
    )
    card = raise_card(
        policy=policy, risk_now=False, ask_about_me=False, preview="", suggested_target=clock.now()
    )
    (toggle,) = [e for e in card["body"] if e.get("id") == "urgent"]
    assert toggle["title"] == f"Urgent: {policy.urgent_when}" and toggle["wrap"] is True


def test_marking_urgent_replans_the_reminders_to_the_new_due_time(bot, store, clock):
    raise_(bot)
    clock.set(london(2026, 12, 3, 9, 30))
    bot.handle(MarkUrgent(actor="alex", escalation_id="E-0001", reason="New bruise."))
    pending = {r.kind: r.due_at for r in store.pending_reminders("E-0001")}
    assert pending["due"] == london(2026, 12, 4, 9, 30)  # 24 hours on, not Tue 8 Dec 17:00
    # Urgent rhythm: 4 hours before would be 5:30am, in quiet hours: it waits until 7am.
    assert pending["ahead"] == london(2026, 12, 4, 7)


def test_a_policy_that_never_says_when_a_difference_is_urgent_cannot_be_marked_urgent(store, clock, tmp_path):
    import shutil

    from bot.core import EscalationBot
    from bot.policy import PolicyLibrary
    from support import REPO

    folder = tmp_path / "policies"
    shutil.copytree(REPO / "policies", folder, ignore=shutil.ignore_patterns("__pycache__", "sources"))
    camden = folder / "camden.yaml"
    text = camden.read_text(encoding="utf-8")
    start, end = text.index("urgent:\n"), text.index("urgent_route:")
    camden.write_text(text[:start] + text[end:], encoding="utf-8")
    bot = EscalationBot(store=store, policies=PolicyLibrary.load(folder), clock=clock)
    raise_(bot)
    with pytest.raises(InvalidInput, match="does not say when a difference is urgent"):
        bot.handle(MarkUrgent(actor="alex", escalation_id="E-0001", reason="x"))


def test_a_page_number_that_is_not_one_shows_the_first_page():
    from bot.wording import page_of

    assert page_of(list(range(120)), "²", 50).number == 1
    assert page_of(list(range(120)), "3", 50).items == list(range(100, 120))
    assert page_of(list(range(120)), "9", 50).number == 3
