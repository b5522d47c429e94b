"""The data protection officer's commands: everything held about a person (subject access), erasing
them while the records others are entitled to stay; and `retention --dry-run`."""

from __future__ import annotations

import json
from pathlib import Path

from test_commands import assert_usage_error

from bot.clock import ManualClock
from bot.commands import AddNote, Resolve
from bot.core import EscalationBot
from bot.people import Person
from bot.policy import PolicyLibrary
from bot.storage import Storage
from support import london, raise_difference

URL = "sqlite:///bot.db"
PEOPLE = [
    Person("alex", "Alex Morgan", "Camden Children's Services", "Social Worker", email="alex@example.org",
           slack_id="UALEX"),
    Person("sam", "Sam Patel", "Whittington Health", "Health Visitor", email="sam@example.org"),
    Person("dee", "Dee Okafor", "Camden Safeguarding Children Partnership", "Business Manager", admin=True),
]  # fmt: skip


def make_history() -> None:
    """Alex raises with Sam; both add notes (Sam's names Alex); Alex resolves it."""
    store = Storage.open(URL)
    store.upsert_people(PEOPLE)
    clock = ManualClock(london(2019, 3, 1, 10))
    bot = EscalationBot(store=store, policies=PolicyLibrary.load(), clock=clock)
    raise_difference(bot)
    bot.handle(AddNote("alex", "E-0001", "Phoned Sam; we still disagree."))
    bot.handle(AddNote("sam", "E-0001", "Alex Morgan called me about the plan."))
    clock.set(london(2019, 3, 5, 10))
    bot.handle(Resolve("alex", "E-0001", "Agreed a joint visit."))
    store.close()


def test_subject_access_gives_everything_held_about_the_person(cli, tmp_path: Path):
    make_history()
    result = cli("--database-url", URL, "person", "export", "alex", "--out", "alex.json")
    assert result.code == 0, result.err
    doc = json.loads(Path("alex.json").read_text(encoding="utf-8"))
    assert doc["directory"]["name"] == "Alex Morgan" and doc["directory"]["slack_id"] == "UALEX"
    (esc,) = doc["escalations"]
    assert esc["id"] == "E-0001" and esc["case_reference"] == "CIN-20931"
    kinds = [(e["kind"], e["by"]) for e in esc["entries"]]
    assert ("raised", "alex") in kinds and ("resolved", "alex") in kinds
    assert ("note_added", "sam") in kinds  # Sam's note names Alex in words
    assert any(m["text"] for m in doc["messages_to_them"])
    assert_usage_error(cli("--database-url", URL, "person", "export", "nobody"), "no one with id 'nobody'")


def test_erasing_a_person_keeps_the_record_shown_by_their_role(cli, tmp_path: Path):
    make_history()
    dry = cli("--database-url", URL, "person", "erase", "alex", "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.splitlines()[0] == "Erasing alex would change 1 escalation histories."
    assert "E-0001: named in words by sam" in dry.out
    assert Storage.open(URL).person("alex").name == "Alex Morgan"  # nothing changed

    result = cli("--database-url", URL, "person", "erase", "alex")
    assert result.code == 0, result.err
    assert (
        result.out.splitlines()[0]
        == "Erased alex: now erased-0001, shown by their role in 1 escalation histories."
    )
    store = Storage.open(URL)
    assert store.person("alex") is None
    gone = store.person("erased-0001")
    assert (gone.name, gone.agency, gone.email, gone.slack_id, gone.active) == (
        "Social Worker", "Camden Children's Services", None, None, False,
    )  # fmt: skip
    assert store.person_by(slack_id="UALEX", active_only=False) is None
    assert store.messages_to("alex") == []
    # The record others are entitled to stays: every note, the outcome, by role not by name.
    record = cli("--database-url", URL, "export", "E-0001").out
    assert "Phoned Sam; we still disagree." in record and "Alex Morgan called me about the plan." in record
    assert "Social Worker (Social Worker, Camden Children's Services)" in record
    assert "Name erased: Social Worker" in record and "erasure on request" in record
    assert "alex@example.org" not in Path("bot.db").read_bytes().decode("latin-1")
    assert store.erasures()[-1][1:3] == ("erased-0001", "erasure on request (the data protection officer)")


def test_retention_dry_run_lists_what_would_go_and_changes_nothing(cli, tmp_path: Path):
    make_history()
    result = cli("--database-url", URL, "retention", "--dry-run")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Kept after closing: 6 years (RETENTION)."
    assert lines[1].startswith("E-0001   camden") and "closed 10am Tue 5 Mar 2019" in lines[1]
    assert lines[-1] == "1 escalation would be erased now. Dry run: nothing was changed."
    assert Storage.open(URL).escalation_row("E-0001").case_reference == "CIN-20931"
    kept = cli("--database-url", URL, "retention", "--dry-run")
    assert kept.out == result.out

    assert cli("--database-url", URL, "retention").out.splitlines()[-1] == (
        "Erased 1 escalation; see retention --log."
    )
    log = cli("--database-url", URL, "retention", "--log").out
    assert "E-0001" in log and "retention: 6 years after closing" in log
    assert "CIN-20931" not in cli("--database-url", URL, "export", "E-0001").out


def test_a_retention_setting_that_cannot_be_read_is_one_line(cli, tmp_path: Path, monkeypatch):
    make_history()
    monkeypatch.setenv("RETENTION", "6y,camdn=7y")
    assert_usage_error(cli("--database-url", URL, "retention", "--dry-run"), "RETENTION: no policy 'camdn'")
