"""What one person may do on an escalation: the secure page offers exactly this."""

from __future__ import annotations

from datetime import date

from bot.choices import choices
from bot.commands import ActionDone, AnswerProposal, OwnedAction, Resolve
from support import raise_difference as raise_


def test_the_raiser_answers_a_proposal_and_the_proposer_does_not(bot):
    raise_(bot)
    esc = bot.load("E-0001")
    assert choices(esc, "alex", bot.ledger).proposal_to_answer is None
    bot.handle(Resolve(actor="sam", escalation_id="E-0001", outcome="Health visiting stays open"))
    esc = bot.load("E-0001")
    asked = choices(esc, "alex", bot.ledger)
    assert asked.add_note
    assert asked.proposal_to_answer is not None
    assert asked.proposal_to_answer.outcome == "Health visiting stays open"
    assert choices(esc, "sam", bot.ledger).proposal_to_answer is None
    bot.handle(AnswerProposal(actor="alex", escalation_id="E-0001", agree=True))
    assert choices(bot.load("E-0001"), "alex", bot.ledger).proposal_to_answer is None


def test_an_owner_has_their_own_agreed_actions_to_mark_done_until_they_are_done(bot):
    raise_(bot)
    bot.handle(
        Resolve(
            actor="alex",
            escalation_id="E-0001",
            outcome="Health visiting stays open",
            owned=(OwnedAction("Joint visit", "sam", date(2026, 12, 10)),),
        )
    )
    (todo,) = choices(bot.load("E-0001"), "sam", bot.ledger).actions_to_do
    assert (todo.index, todo.what) == (0, "Joint visit")
    assert choices(bot.load("E-0001"), "alex", bot.ledger).actions_to_do == ()
    bot.handle(ActionDone(actor="sam", escalation_id="E-0001", index=0))
    assert choices(bot.load("E-0001"), "sam", bot.ledger).actions_to_do == ()
