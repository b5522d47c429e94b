"""A leaver loses access at once, and nothing stalls: each open escalation they handled asks their
side who takes over, and the answer brings that person in with the briefing (issue 10, part 5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.commands import AddNote, EscalateStage, NameRoleHolder
from bot.errors import InvalidInput, Refused
from bot.messages import ActionKind
from bot.people import Person
from support import london, raise_difference
from support import raise_difference as raise_


def test_a_leaver_cannot_act_and_their_manager_is_asked_who_takes_over(bot, store, clock, inbox):
    raise_(bot)
    inbox.collect()
    store.upsert_people([replace(store.person("sam"), email="sam@example.org")], with_roles=False)
    assert store.person_by(email="sam@example.org").id == "sam"
    asked = bot.deactivate("sam")
    (question,) = asked
    assert question.to == "priya"  # Sam's line manager: nobody else handles Sam's side at stage 1
    assert question.text.splitlines()[0] == "Who takes over from Sam Patel on E-0001?"
    (pick,) = question.actions
    assert pick.kind is ActionKind.NAME_ROLE_HOLDER

    # Sam can do nothing more, and is found by none of their accounts.
    with pytest.raises(Refused):
        bot.handle(AddNote(actor="sam", escalation_id="E-0001", discussed="One more thing"))
    assert store.person_by(email="sam@example.org") is None

    # Priya names Lee, another Whittington health visitor, who joins with the briefing.
    store.upsert_people(
        [Person("lee", "Lee Chan", "Whittington Health", "Health Visitor", manager_id="priya")]
    )
    bot.handle(NameRoleHolder(actor="priya", question_id=int(pick.ref), person="lee"))
    messages = inbox.collect()
    welcome = next(m for m in messages if m.to == "lee")
    assert "Health visiting plans to close the case." in welcome.text
    assert any(m.to == "alex" and m.text.startswith("Lee Chan joined E-0001") for m in messages)
    assert bot.load("E-0001").handling("other") == ["lee"]

    # Nothing more goes to Sam: the due reminder reaches Alex and Lee.
    clock.set(london(2026, 12, 8, 17))
    assert {m.to for m in bot.run_due() if m.escalation_id == "E-0001"} == {"alex", "lee"}
    record = bot.export("alex", "E-0001")
    assert "Left: Sam Patel" in record and "Asked who takes over their part: Priya Nair" in record


def test_a_replacement_must_be_from_the_leavers_agency_and_not_the_other_side(bot, store):
    raise_(bot)
    (question,) = bot.deactivate("sam")
    with pytest.raises(InvalidInput, match="Name someone from Whittington Health"):
        bot.handle(NameRoleHolder(actor="priya", question_id=int(question.actions[0].ref), person="jo"))


def test_no_one_is_left_out_when_the_leaver_has_no_manager_the_admins_are_asked(bot, store, clock):
    raise_difference(bot, actor="chris", case_reference="S-1", counterpart="ravi", category="roles")
    (question,) = bot.deactivate("ravi")  # Ravi has no manager on record
    assert question.to == "dee"


def test_a_leaver_cannot_be_chosen_and_a_new_difference_with_them_says_so(bot, store, clock):
    raise_(bot)
    bot.deactivate("sam")
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidInput) as refused:
        raise_(bot)
    assert refused.value.errors["counterpart"] == "Sam Patel has left. Choose who now does their work."
    with pytest.raises(Refused):
        bot.handle(EscalateStage(actor="sam", escalation_id="E-0001", reason="x"))


def test_reimporting_the_directory_does_not_bring_a_leaver_back(bot, store):
    raise_(bot)
    bot.deactivate("sam")
    store.upsert_people(
        [Person("sam", "Sam Patel", "Whittington Health", "Health Visitor", manager_id="priya")]
    )
    assert store.person("sam").active is False


async def test_in_teams_a_leaver_cannot_act_or_come_back_as_someone_new(teams):
    from fakes.bot_connector import card_text
    from fakes.teams_activities import RAISE, activity, install

    url = teams.connector.service_url
    for user in ("alex", "sam"):
        await teams.post(install(url, user))
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    await teams.run(teams.services.bot.deactivate, "sam")
    before = len(teams.services.bot.store.people())
    # Sam's own raise form: refused, and no new person is made of Sam's account.
    mine = {**RAISE, "counterpart": "aad-alex", "my_agency": "Whittington Health", "my_role": "HV"}
    await teams.post(activity(url, "sam", value=mine, reply_to_id="form-2"))
    await teams.connector.wait_until(
        lambda: any("You no longer use the bot" in card_text(s) for s in teams.connector.cards_to("a:sam"))
    )
    # Alex chooses Sam again: told Sam has left.
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-3"))
    await teams.connector.wait_until(
        lambda: any(
            "Sam Patel has left" in card_text(s)
            for s in teams.connector.sent
            if s.verb == "update" and s.activity_id == "form-3"
        )
    )
    assert len(teams.services.bot.store.people()) == before
