"""Resolution by agreement: the side that raised a difference closes it; the other side proposes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.commands import AnswerProposal, EscalateStage, Resolve
from bot.errors import InvalidInput, Refused
from bot.messages import ActionKind, MessageKind
from support import london
from support import raise_difference as raise_


def propose(bot, actor="sam"):
    return bot.handle(
        Resolve(
            actor=actor,
            escalation_id="E-0001",
            outcome="Health visiting stays open until the review",
            agreed_actions=("Joint visit on 10 Dec",),
        )
    )


def test_the_other_side_proposes_and_the_raiser_agrees(bot, clock, inbox):
    raise_(bot)
    inbox.collect()
    propose(bot)
    messages = inbox.collect()
    (ask,) = inbox.to(messages, "alex")
    # What Alex's phone shows first: what happened, and to which case.
    assert ask.text.splitlines()[0] == "Resolved? Sam Patel proposes E-0001 is resolved"
    assert "Proposed outcome: Health visiting stays open until the review" in ask.text
    assert "Joint visit on 10 Dec" in ask.text
    assert [a.kind for a in ask.actions] == [ActionKind.AGREE_RESOLVED, ActionKind.NOT_AGREED]
    assert not ask.in_thread  # in Alex's direct messages, not only the thread
    (told_sam,) = inbox.to(messages, "sam")
    assert told_sam.text.startswith("Sent to Alex Morgan to agree that E-0001 is resolved.")
    assert "stage 1 is due by 5pm Tue 8 Dec 2026" in told_sam.text
    assert bot.load("E-0001").is_open

    clock.advance(timedelta(hours=1))
    bot.handle(AnswerProposal(actor="alex", escalation_id="E-0001", agree=True))
    messages = inbox.collect()
    assert {m.to for m in messages} == {"alex", "sam"}
    for m in messages:
        assert m.text.splitlines()[0] == "Resolved: E-0001, agreed by Sam Patel and Alex Morgan"
        assert "Outcome: Health visiting stays open until the review" in m.text
    esc = bot.load("E-0001")
    assert esc.status == "resolved" and esc.proposal is None
    record = bot.export("alex", "E-0001")
    assert "Resolved by agreement" in record
    assert "Proposed by Sam Patel (Health Visitor, Whittington Health); agreed by Alex Morgan" in record


def test_the_raiser_does_not_agree_says_why_and_escalates(bot, clock, inbox):
    raise_(bot)
    propose(bot)
    inbox.collect()
    with pytest.raises(InvalidInput) as refused:
        bot.handle(AnswerProposal(actor="alex", escalation_id="E-0001", agree=False))
    assert refused.value.errors == {"reason": "Please say why you do not agree, so the other side knows."}

    bot.handle(
        AnswerProposal(
            actor="alex", escalation_id="E-0001", agree=False, reason="The GP still reports missed visits."
        )
    )
    messages = inbox.collect()
    (to_sam,) = inbox.to(messages, "sam")
    assert to_sam.text.splitlines()[0] == "Not agreed: Alex Morgan does not agree E-0001 is resolved"
    assert "Why: The GP still reports missed visits." in to_sam.text
    assert "stage 1 is due by 5pm Tue 8 Dec 2026" in to_sam.text
    esc = bot.load("E-0001")
    assert esc.is_open and esc.proposal is None and esc.stage.due == london(2026, 12, 8, 17)
    # The clock kept running: the due reminder still comes.
    clock.set(london(2026, 12, 8, 17))
    assert any("Stage 1 is due now" in m.text for m in bot.run_due())

    bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="Health will not keep it open"))
    assert bot.load("E-0001").stage.number == 2
    record = bot.export("alex", "E-0001")
    assert "Resolution not agreed" in record and "The GP still reports missed visits." in record


def test_the_raiser_resolves_alone(bot, inbox):
    raise_(bot)
    inbox.collect()
    propose(bot, actor="alex")
    messages = inbox.collect()
    assert {m.to for m in messages} == {"alex", "sam"}
    assert all(m.text.startswith("Resolved: Alex Morgan closed E-0001") for m in messages)
    assert bot.load("E-0001").status == "resolved"


def test_the_challenged_side_cannot_close_or_agree_to_its_own_proposal(bot, inbox):
    raise_(bot)
    propose(bot)
    with pytest.raises(Refused):
        bot.handle(AnswerProposal(actor="sam", escalation_id="E-0001", agree=True))
    assert bot.load("E-0001").is_open
    # Agreeing twice: the second finds nothing to answer.
    bot.handle(AnswerProposal(actor="alex", escalation_id="E-0001", agree=True))
    with pytest.raises(InvalidInput):
        bot.handle(AnswerProposal(actor="alex", escalation_id="E-0001", agree=True))


def test_the_raising_sides_manager_decides_too_once_brought_in(bot, inbox):
    raise_(bot)
    bot.handle(EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    inbox.collect()
    propose(bot, actor="priya")
    asked = {m.to for m in inbox.collect() if m.actions}
    assert asked == {"jo"}  # who handles the raising side at stage 2
    bot.handle(AnswerProposal(actor="jo", escalation_id="E-0001", agree=True))
    assert bot.load("E-0001").status == "resolved"


def test_at_the_final_stage_the_partnership_decides(bot, inbox):
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
    inbox.collect()
    bot.handle(Resolve(actor="dee", escalation_id="E-0001", outcome="Chair's recommendations accepted"))
    messages = inbox.collect()
    assert bot.load("E-0001").status == "closed"
    assert all(
        m.text.startswith("Closed: E-0001, decided at the final stage by Dee Okafor") for m in messages
    )
    assert all(m.kind is MessageKind.NOTICE and not m.in_thread for m in messages)
