"""Each message read as its recipient reads it on a phone: the first line (the notification) says
what happened and to which case; a newcomer gets what was said, not what the bot did."""

from __future__ import annotations

from datetime import timedelta

from bot.commands import (
    AddNote,
    AnswerProposal,
    EscalateStage,
    MarkUrgent,
    Resolve,
    SetEarlierDue,
)
from bot.messages import ActionKind
from support import london
from support import raise_difference as raise_


def first_lines(messages, to: str) -> list[str]:
    return [m.text.splitlines()[0] for m in messages if m.to == to]


def test_every_notification_says_what_happened_to_which_case(bot, clock, inbox):
    raise_(bot)
    raised = inbox.collect()
    assert first_lines(raised, "alex") == ["You raised E-0001 with Sam Patel"]
    assert first_lines(raised, "sam") == ["Alex Morgan raised a professional difference with you: E-0001"]

    bot.handle(AddNote(actor="sam", escalation_id="E-0001", discussed="Phoned Alex.", platform_ref="m1"))
    assert first_lines(inbox.collect(), "alex") == ["Sam Patel added a note on E-0001"]

    bot.handle(SetEarlierDue(actor="alex", escalation_id="E-0001", due=london(2026, 12, 4, 12), reason="CP"))
    assert first_lines(inbox.collect(), "sam") == [
        "Earlier due time: E-0001 stage 1 is now due by 12pm Fri 4 Dec 2026"
    ]

    clock.set(london(2026, 12, 4, 9))
    assert first_lines(bot.run_due(), "sam") == ["Due soon: E-0001 stage 1 is due by 12pm Fri 4 Dec 2026"]
    clock.set(london(2026, 12, 4, 12))
    assert first_lines(bot.run_due(), "sam") == ["Due now: E-0001 stage 1 was due 12pm Fri 4 Dec 2026"]
    inbox.collect()

    bot.handle(MarkUrgent(actor="sam", escalation_id="E-0001", reason="New bruise."))
    assert first_lines(inbox.collect(), "alex") == ["Urgent: Sam Patel marked E-0001 urgent"]

    bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="Health will not keep it open"))
    moved = inbox.collect()
    assert first_lines(moved, "sam")[0] == "E-0001 moved to stage 2: Discussion between frontline managers"
    assert first_lines(moved, "jo") == ["You've been brought into E-0001 as Alex Morgan's manager."]

    bot.handle(Resolve(actor="priya", escalation_id="E-0001", outcome="Visits continue"))
    assert first_lines(inbox.collect(), "jo") == ["Resolved? Priya Nair proposes E-0001 is resolved"]
    bot.handle(AnswerProposal(actor="jo", escalation_id="E-0001", agree=True))
    assert first_lines(inbox.collect(), "sam") == ["Resolved: E-0001, agreed by Priya Nair and Jo Bennett"]


def test_notes_and_stage_moves_reach_each_persons_direct_messages_too(bot, inbox):
    raise_(bot)
    inbox.collect()
    bot.handle(AddNote(actor="sam", escalation_id="E-0001", discussed="Phoned Alex.", platform_ref="m1"))
    (relay,) = [m for m in inbox.collect() if m.to == "alex"]
    assert relay.in_thread and relay.data.get("broadcast")
    bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="No agreement"))
    moved = [m for m in inbox.collect() if m.to == "sam"]
    assert moved[0].data.get("broadcast")


def test_immediate_risk_is_stated_to_everyone_with_the_emergency_guidance(bot, inbox):
    raise_(bot, immediate_risk=True)
    raised = inbox.collect()
    (to_sam,) = [m for m in raised if m.to == "sam"]
    assert (
        "IMMEDIATE RISK: Alex Morgan reported the child at immediate risk when raising this." in to_sam.text
    )
    assert "If a child is in immediate danger, call 999 now." in to_sam.text
    bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="No agreement"))
    welcome = next(m for m in inbox.collect() if m.to == "priya")
    assert "IMMEDIATE RISK" in welcome.text and "call 999" in welcome.text


def test_a_managers_welcome_has_the_summary_the_reason_and_what_each_side_said(bot, clock, inbox):
    raise_(bot)
    bot.handle(AddNote(actor="sam", escalation_id="E-0001", discussed="Phoned Alex; we disagree."))
    clock.advance(timedelta(hours=1))
    bot.handle(AddNote(actor="alex", escalation_id="E-0001", discussed="Sam will not keep it open."))
    clock.set(london(2026, 12, 9, 10))
    bot.run_due()  # chased: bot events that a manager does not need to read
    inbox.collect()
    bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="Health closing on Friday"))
    welcome = next(m for m in inbox.collect() if m.to == "jo")
    text = welcome.text
    assert "The concern: Health visiting plans to close the case." in text
    assert "Why it went to stage 2: Health closing on Friday" in text
    said = text.split("What each side has said:")[1]
    assert said.index("Phoned Alex; we disagree.") < said.index("Sam will not keep it open.")  # newest last
    assert "overdue" not in said.lower() and "told" not in said
    assert ActionKind.SHOW in {a.kind for a in welcome.actions}  # the full record, one tap away
    assert len(text) < 3000  # short enough for a phone
