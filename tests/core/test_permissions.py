"""Only the people on an escalation (and partnership admins) may see or act on it."""

from __future__ import annotations

import pytest

from bot.commands import AddNote, EscalateStage, RaiseEscalation, Resolve, SetEarlierDue, Withdraw
from bot.errors import Refused
from support import london


@pytest.fixture
def raised(bot):
    bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="camden",
            case_reference="CP-7",
            counterpart="sam",
            category="threshold",
            issue="A confidential concern",
            risk="A confidential risk",
            outcome_wanted="An outcome",
        )
    )
    return "E-0001"


ACTIONS = {
    "show": lambda bot, who, esc: bot.show(who, esc),
    "export": lambda bot, who, esc: bot.export(who, esc),
    "note": lambda bot, who, esc: bot.handle(AddNote(actor=who, escalation_id=esc, discussed="x")),
    "resolve": lambda bot, who, esc: bot.handle(Resolve(actor=who, escalation_id=esc, outcome="x")),
    "escalate": lambda bot, who, esc: bot.handle(
        EscalateStage(reason="No agreement", actor=who, escalation_id=esc)
    ),
    "withdraw": lambda bot, who, esc: bot.handle(Withdraw(actor=who, escalation_id=esc, reason="x")),
    "earlier due": lambda bot, who, esc: bot.handle(
        SetEarlierDue(actor=who, escalation_id=esc, due=london(2026, 12, 2, 12), reason="")
    ),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_someone_not_on_the_escalation_is_refused_and_learns_nothing(bot, raised, store, action):
    events_before = len(store.events(raised))
    with pytest.raises(Refused) as refused:
        ACTIONS[action](bot, "eve", raised)
    with pytest.raises(Refused) as unknown:
        ACTIONS[action](bot, "eve", "E-0999")
    # The same words whether or not the escalation exists, and nothing of its content.
    assert str(refused.value).replace(raised, "ID") == str(unknown.value).replace("E-0999", "ID")
    assert "confidential" not in str(refused.value) and "CP-7" not in str(refused.value)
    assert len(store.events(raised)) == events_before


def test_list_shows_only_your_own_escalations(bot, raised):
    assert [r.id for r in bot.list_for("sam").rows] == [raised]
    assert bot.list_for("eve").rows == []


def test_partnership_admins_can_see_every_escalation(bot, raised):
    assert [r.id for r in bot.list_for("dee").rows] == [raised]
    assert "A confidential concern" in bot.show("dee", raised)
    assert "# Case record: escalation E-0001" in bot.export("dee", raised)


def test_managers_join_the_people_who_may_see_it_when_their_stage_starts(bot, raised):
    with pytest.raises(Refused):
        bot.show("jo", raised)
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id=raised))
    assert "A confidential concern" in bot.show("jo", raised)
    assert "A confidential concern" in bot.show("priya", raised)


def test_an_admin_named_for_another_partnership_cannot_see_it(bot, store, raised):
    from dataclasses import replace

    store.upsert_people([replace(store.person("dee"), admin_policies=("redbridge",))])
    with pytest.raises(Refused):
        bot.show("dee", raised)
    assert bot.list_for("dee").rows == []
    store.upsert_people([replace(store.person("dee"), admin_policies=("camden",))])
    assert [r.id for r in bot.list_for("dee").rows] == [raised]
