"""Agreed actions carry an owner and a day; the owner is reminded; an action not done can bring
the difference back, to the stage where it was resolved, with that stage's timescale afresh."""

from __future__ import annotations

from datetime import date

import pytest

from bot.commands import (
    ActionDone,
    AnswerProposal,
    EscalateStage,
    OwnedAction,
    Reopen,
    Resolve,
)
from bot.errors import InvalidInput, Refused
from bot.messages import ActionKind
from support import london
from support import raise_difference as raise_


def resolve_with_a_joint_visit(bot, actor="alex", by=date(2026, 12, 10)):
    bot.handle(
        Resolve(
            actor=actor,
            escalation_id="E-0001",
            outcome="Health visiting stays open",
            owned=(OwnedAction("Joint visit with the social worker", "sam", by),),
        )
    )


def test_an_agreed_action_names_its_owner_and_day_and_its_owner_is_reminded(bot, clock, inbox):
    raise_(bot)
    inbox.collect()
    resolve_with_a_joint_visit(bot)
    resolved = inbox.collect()
    assert all(
        "Joint visit with the social worker (Sam Patel, by 5pm Thu 10 Dec 2026)" in m.text for m in resolved
    )
    clock.set(london(2026, 12, 10, 9))
    (to_sam,) = [m for m in bot.run_due() if m.escalation_id == "E-0001"]
    assert to_sam.to == "sam"
    assert (
        to_sam.text.splitlines()[0]
        == "To do: Sam Patel: Joint visit with the social worker by 5pm Thu 10 Dec 2026"
    )
    (done,) = to_sam.actions
    assert done.kind is ActionKind.ACTION_DONE
    bot.handle(ActionDone(actor="sam", escalation_id="E-0001", index=int(done.ref)))
    clock.set(london(2026, 12, 10, 17))
    assert [m for m in bot.run_due() if m.escalation_id == "E-0001"] == []  # done: nobody is chased
    record = bot.export("alex", "E-0001")
    assert "Agreed action done: Joint visit with the social worker" in record


def test_a_reopen_after_an_agreed_action_is_missed(bot, clock, inbox):
    raise_(bot)
    bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="No agreement"))
    bot.handle(Resolve(actor="priya", escalation_id="E-0001", outcome="Visits continue",
                       owned=(OwnedAction("Joint visit", "sam", date(2026, 12, 10)),)))  # fmt: skip
    bot.handle(AnswerProposal(actor="jo", escalation_id="E-0001", agree=True))
    inbox.collect()
    clock.set(london(2026, 12, 10, 17))
    missed = [m for m in bot.run_due() if m.escalation_id == "E-0001" and m.text.startswith("Not done")]
    # The raising side (Jo handles it at stage 2) is told, with Reopen.
    assert [m.to for m in missed] == ["jo"]
    assert missed[0].text.splitlines()[0] == "Not done: Joint visit (Sam Patel) was due 5pm Thu 10 Dec 2026"
    assert ActionKind.REOPEN in {a.kind for a in missed[0].actions}
    inbox.collect()

    with pytest.raises(Refused):
        bot.handle(Reopen(actor="sam", escalation_id="E-0001", reason="x"))
    with pytest.raises(InvalidInput):
        bot.handle(Reopen(actor="jo", escalation_id="E-0001", reason=" "))
    clock.set(london(2026, 12, 11, 10))
    bot.handle(Reopen(actor="jo", escalation_id="E-0001", reason="The joint visit did not happen"))
    reopened = inbox.collect()
    esc = bot.load("E-0001")
    assert esc.is_open and esc.stage.number == 2
    # Stage 2's timescale afresh: 1 working week from Fri 11 Dec 10:00.
    assert esc.stage.due == london(2026, 12, 18, 17)
    assert {m.to for m in reopened} == {"jo", "priya"}
    assert reopened[0].text.splitlines()[0] == "Reopened: Jo Bennett reopened E-0001"
    record = bot.export("alex", "E-0001")
    assert "Agreed action not done: Joint visit" in record
    assert "Reopened: The joint visit did not happen." in record


def test_an_owner_must_be_on_the_escalation_and_the_day_not_past(bot, clock):
    raise_(bot)
    with pytest.raises(InvalidInput) as refused:
        bot.handle(Resolve(actor="alex", escalation_id="E-0001", outcome="x",
                           owned=(OwnedAction("Visit", "chris", date(2026, 12, 10)),)))  # fmt: skip
    assert "owner_1" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        bot.handle(Resolve(actor="alex", escalation_id="E-0001", outcome="x",
                           owned=(OwnedAction("Visit", "sam", date(2026, 11, 30)),)))  # fmt: skip
    assert "by_1" in refused.value.errors
    assert bot.load("E-0001").is_open
