"""The case record for the child's file holds what the policies require, and invents nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.commands import AddNote, EscalateStage
from bot.errors import InvalidInput
from support import raise_difference as raise_


def test_the_export_opens_with_the_partnership_policy_case_and_who_exported_it_when(bot, clock):
    raise_(bot, policy_id="redbridge")
    clock.advance(timedelta(days=1))
    record = bot.export("sam", "E-0001")
    head = record.split("## Entries")[0]
    assert "- **Partnership:** Redbridge Local Safeguarding Children Board" in head
    assert "- **Case reference:** CIN-20931" in head
    assert "- **Escalation:** E-0001" in head
    assert "- **Exported on:** 10am Wed 2 Dec 2026, by Sam Patel (Health Visitor, Whittington Health)" in head


def test_a_stage_move_needs_a_reason_and_the_reason_is_on_the_record(bot):
    raise_(bot)
    with pytest.raises(InvalidInput) as refused:
        bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="  "))
    assert refused.value.errors == {"reason": "Please say why it needs to go to the next stage."}
    assert bot.load("E-0001").stage.number == 1
    bot.handle(EscalateStage(actor="alex", escalation_id="E-0001", reason="Health will not keep it open"))
    record = bot.export("alex", "E-0001")
    assert "Why it could not be resolved at stage 1: Health will not keep it open." in record


def test_a_note_without_an_outcome_says_so_rather_than_inventing_one(bot):
    raise_(bot)
    bot.handle(AddNote(actor="sam", escalation_id="E-0001", discussed="Phoned Alex at 2pm."))
    record = bot.export("alex", "E-0001")
    entry = record.split("Case note")[1]
    assert "- **Outcome:** not recorded" in entry
    assert "Not stated" not in record
