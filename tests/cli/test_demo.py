"""`escalation-bot demo`: the scripted walkthrough, the interactive console, and the immediate-risk gate."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.console import ConsoleDemo, run_demo
from bot.clock import ManualClock
from bot.core import EscalationBot
from bot.people import parse_directory_csv
from bot.policy import PolicyLibrary
from bot.storage import Storage
from support import REPO, london

ALEX = "Alex Morgan (Social Worker, Camden Children's Services)"
SAM = "Sam Patel (Health Visitor, Whittington Health)"
JO = "Jo Bennett (Team Manager, Camden Children's Services)"
PRIYA = "Priya Nair (Health Visiting Team Lead, Whittington Health)"
DEE = "Dee Okafor (Partnership Business Manager, Camden Safeguarding Children Partnership)"


def messages(transcript: str) -> list[tuple[int, str, str]]:
    """Each delivered message as (position in the transcript, header line, body text)."""
    found = []
    lines = transcript.splitlines(keepends=True)
    position = 0
    header: str | None = None
    start = 0
    body: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("┌─ to "):
            header, start, body = stripped.removeprefix("┌─ "), position, []
        elif stripped == "└─" and header is not None:
            found.append((start, header, "\n".join(body)))
            header = None
        elif header is not None:
            body.append(stripped.removeprefix("│").strip())
        position += len(line)
    return found


def first_message(transcript: str, header: str, *, after: int = 0, containing: str = "") -> tuple[int, str]:
    for position, head, body in messages(transcript):
        if position >= after and head == header and containing in body:
            return position, body
    raise AssertionError(f"no message {header!r} containing {containing!r} after position {after}")


def position_of(transcript: str, text: str, *, after: int = 0) -> int:
    found = transcript.find(text, after)
    assert found >= 0, f"{text!r} not in the transcript after position {after}"
    return found


@pytest.fixture
def no_leftovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo's throwaway folder goes under tmp_path/scratch, which must be empty afterwards."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(tmp_path)
    return scratch


# -- the scripted walkthrough --------------------------------------------------------------------


@pytest.fixture(scope="module")
def auto_transcript() -> str:
    out = io.StringIO()
    assert run_demo(auto=True, out=out) == 0
    return out.getvalue()


def test_auto_demo_raises_and_tells_the_other_professional(auto_transcript):
    raised = position_of(auto_transcript, "[alex] > /raise")
    _, body = first_message(auto_transcript, f"to {SAM} · case message", after=raised)
    assert "E-0001 · case CIN-20931 · Camden policy" in body
    assert f"{ALEX} has raised a professional difference with you" in body
    assert "Due by 5pm Tue 8 Dec 2026" in body
    _, own = first_message(auto_transcript, f"to {ALEX} · case message", after=raised)
    assert "We've messaged Sam Patel" in own


def test_auto_demo_walks_the_whole_journey_in_order(auto_transcript):
    t = auto_transcript
    at = position_of(t, "[alex] > /raise")
    at, _ = first_message(t, f"to {SAM} · case message", after=at)
    at, _ = first_message(t, f"to {SAM} · reply", after=at, containing="Noted on E-0001")
    at, _ = first_message(t, f"to {ALEX} · in the case thread", after=at, containing="Note from Sam Patel")
    at, _ = first_message(t, f"to {ALEX} · reply", after=at, containing="Noted on E-0001")
    at = position_of(t, "⏰ 9am Tue 8 Dec 2026", after=at)
    at, _ = first_message(t, f"to {ALEX} · reminder", after=at, containing="Reminder: stage 1 is due")
    at = position_of(t, "⏰ 5pm Tue 8 Dec 2026", after=at)
    at, _ = first_message(t, f"to {SAM} · reminder", after=at, containing="Stage 1 is due now")
    escalated = position_of(t, "[alex] > /escalate", after=at)
    briefed = []
    for manager, managed in ((JO, "Alex Morgan"), (PRIYA, "Sam Patel")):
        where, body = first_message(t, f"to {manager} · case message", after=escalated)
        assert f"as {managed}'s manager" in body
        assert "Stage 2: Discussion between frontline managers" in body
        assert "What each side has said" in body
        assert "Phoned Alex on 1 Dec" in body  # the notes made before they joined
        briefed.append(where)
    at = position_of(t, "[priya] > /resolve", after=max(briefed))
    at, _ = first_message(
        t, f"to {JO} · message", after=at, containing="Resolved? Priya Nair proposes E-0001 is resolved"
    )
    at = position_of(t, "[jo] > /agree", after=at)
    at, body = first_message(
        t, f"to {SAM} · message", after=at, containing="Resolved: E-0001, agreed by Priya Nair and Jo Bennett"
    )
    assert "Joint visit by the health visitor and social worker" in body
    at = position_of(t, "[jo] > /export", after=at)
    at = position_of(t, "# Case record: escalation E-0001", after=at)
    record = t[at:]
    assert "## Stages" in record
    assert "(escalated)" in record
    assert "(resolved)" in record
    assert "Spoke to Jo Bennett. We agreed a joint visit before the review." in record
    assert t.rstrip().endswith("End of demo. The throwaway database has been removed.")


def test_auto_demo_reminds_both_sides_once_per_reminder(auto_transcript):
    reminders = [(head, body) for _, head, body in messages(auto_transcript) if head.endswith("· reminder")]
    firsts = sorted((head, body.splitlines()[0]) for head, body in reminders)
    # Due soon, due now and the first overdue chase to each side; the managers once; the
    # business manager a morning digest. Nothing twice.
    assert len(firsts) == len(set(firsts))
    assert sorted(head for head, _ in reminders) == sorted(
        [f"to {ALEX} · reminder", f"to {SAM} · reminder"] * 3
        + [f"to {JO} · reminder", f"to {PRIYA} · reminder", f"to {DEE} · reminder"]
    )


def test_auto_demo_leaves_no_files_behind(no_leftovers, tmp_path):
    assert run_demo(auto=True, out=io.StringIO()) == 0
    assert list(no_leftovers.iterdir()) == []
    assert not (tmp_path / "escalations.db").exists()


def test_demo_auto_from_the_command_line_never_touches_the_real_database(
    capsys, monkeypatch, no_leftovers, tmp_path
):
    real = tmp_path / "real.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{real}")
    assert main(["demo", "--auto"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "# Case record: escalation E-0001" in out
    assert "Resolved: E-0001, agreed by Priya Nair and Jo Bennett" in out
    assert not real.exists()
    assert list(no_leftovers.iterdir()) == []


# -- the interactive console ---------------------------------------------------------------------


def test_interactive_demo_helps_with_mistakes_and_ends_at_end_of_input(no_leftovers):
    out = io.StringIO()
    status = run_demo(auto=False, out=out, lines=iter(["/help", "/as nobody", "/frob", "/wait 2x", "/list"]))
    assert status == 0
    t = out.getvalue()
    at = position_of(t, "[alex] > /help")
    at = position_of(t, "/raise", after=at)
    at = position_of(t, "No one called 'nobody' in the directory. See /people.", after=at)
    at = position_of(t, "Unknown command /frob. Type /help for the list.", after=at)
    at = position_of(t, "/wait 3d", after=position_of(t, "[alex] > /wait 2x", after=at))
    at = position_of(t, "You are not on any escalations.", after=at)
    assert t.rstrip().endswith("End of demo. The throwaway database has been removed.")
    assert list(no_leftovers.iterdir()) == []


def test_quit_ends_the_demo_before_the_rest_of_the_input(no_leftovers):
    out = io.StringIO()
    assert run_demo(auto=False, out=out, lines=iter(["/quit", "/frob"])) == 0
    assert "End of demo." in out.getvalue()
    assert "/frob" not in out.getvalue()


@pytest.mark.parametrize("stdin", [b"", b"/help\n/frob\n"], ids=["empty", "two-lines"])
def test_a_real_demo_process_ends_cleanly_at_end_of_input(tmp_path, stdin):
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "demo"],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stderr == ""
    assert "Type /help for commands" in stdout
    assert "End of demo. The throwaway database has been removed." in stdout
    assert list(tmp_path.iterdir()) == []


# -- the immediate-risk gate, on a manual clock --------------------------------------------------


def console(tmp_path: Path, start) -> tuple[ConsoleDemo, io.StringIO]:
    store = Storage.open(f"sqlite:///{tmp_path / 'demo.db'}")
    directory = REPO / "examples" / "directory.csv"
    store.upsert_people(parse_directory_csv(directory.read_text(encoding="utf-8"), source="directory.csv"))
    clock = ManualClock(start)
    bot = EscalationBot(store=store, policies=PolicyLibrary.load(), clock=clock)
    out = io.StringIO()
    return ConsoleDemo(bot=bot, clock=clock, out=out), out


def scripted(out: io.StringIO, lines: list[str]):
    answers = iter(lines)

    def read(prompt: str) -> str | None:
        line = next(answers, None)
        print(f"{prompt}{line if line is not None else ''}", file=out)
        return line

    return read


RAISE_AT_IMMEDIATE_RISK = [
    "/raise",
    "yes",  # the child is at immediate risk of harm right now
    "camden",
    "CP-4411",
    "sam",
    "2",
    "Discharge planned tonight without a safety plan.",
    "Baby returning to a home where an injury was unexplained.",
    "Hold discharge until a strategy discussion.",
]


def test_immediate_risk_gives_999_first_and_raises_an_urgent_escalation(tmp_path):
    demo, out = console(tmp_path, london(2026, 12, 1, 10, 0))
    try:
        assert demo.run(scripted(out, [*RAISE_AT_IMMEDIATE_RISK, "/list"])) == 0
        t = out.getvalue()
        gate = position_of(t, "Is the child at immediate risk of harm right now?")
        guidance = position_of(t, "call 999", after=gate)
        assert guidance < position_of(t, "Which policy?")
        # The chosen policy's own numbers follow once it is known, in the raiser's messages.
        assert "020 7974 3369" in t[position_of(t, "Which policy?") :]
        # No "Is it urgent?" question: immediate risk makes it urgent already.
        assert "Is it urgent?" not in t
        _, body = first_message(t, f"to {SAM} · case message")
        assert "E-0001 · case CP-4411 · Camden policy · URGENT" in body
        assert "Due by 10am Wed 2 Dec 2026" in body  # 24 hours, not 1 working week
        assert "E-0001 · case CP-4411 · camden · stage 1 · due 10am Wed 2 Dec 2026" in t
        esc = demo.bot.load("E-0001")
        assert esc is not None
        assert esc.urgent is True
        assert demo.store.escalation_row("E-0001").due == london(2026, 12, 2, 10, 0)
    finally:
        demo.store.close()


def test_no_immediate_risk_and_not_urgent_gives_a_working_week(tmp_path):
    lines = [*RAISE_AT_IMMEDIATE_RISK, "no"]
    lines[1] = "no"
    demo, out = console(tmp_path, london(2026, 12, 1, 10, 0))
    try:
        assert demo.run(scripted(out, lines)) == 0
        t = out.getvalue()
        assert "call 999" not in t[: position_of(t, "Which policy?")]
        _, body = first_message(t, f"to {SAM} · case message")
        assert "URGENT" not in body
        assert "Due by 5pm Tue 8 Dec 2026" in body
        assert demo.bot.load("E-0001").urgent is False
    finally:
        demo.store.close()


def test_immediate_risk_under_another_policy_never_shows_camdens_numbers(tmp_path):
    lines = [*RAISE_AT_IMMEDIATE_RISK, "2026-11-30"]
    lines[2] = "redbridge"
    demo, out = console(tmp_path, london(2026, 12, 1, 10, 0))
    try:
        assert demo.run(scripted(out, lines)) == 0
        t = out.getvalue()
        assert "call 999" in t
        _, body = first_message(t, f"to {SAM} · case message")
        assert "Redbridge policy · URGENT" in body
        assert "020 7974 3369" not in t
        # Redbridge's own guidance is shown as soon as the policy is chosen, before the form.
        own = position_of(t, "must be escalated to a manager and/or safeguarding lead immediately")
        assert own < position_of(t, "The agency's case reference")
    finally:
        demo.store.close()


def test_each_raise_answer_is_checked_as_it_is_given_and_asked_again(tmp_path):
    demo, out = console(tmp_path, london(2026, 12, 1, 10, 0))
    lines = [
        "/raise",
        "no",
        "redbridge",
        "Jane Smith",  # a name, not a case reference
        "CIN-77",
        "nobody",  # not in the directory
        "sam",
        "9",  # out of range
        "1",
        "The decision to close was made without a visit.",
        "Toddler; bruising seen at nursery.",
        "A joint visit before closure.",
        "no",  # not urgent
        "2027-01-05",  # a date in the future
        "2026-11-30",
        "/list",
    ]
    try:
        assert demo.run(scripted(out, lines)) == 0
        t = out.getvalue()
        at = position_of(t, "Jane Smith")
        at = position_of(t, "Never use the child's name.", after=at)
        at = position_of(t, "The agency's case reference", after=at)  # asked again, on the spot
        at = position_of(t, "That isn't one of the ids above.", after=position_of(t, "nobody", after=at))
        at = position_of(t, "Give a number from 1 to", after=at)
        at = position_of(t, "That date is in the future.", after=at)
        esc = demo.bot.load("E-0001")
        assert esc is not None and esc.case_reference == "CIN-77" and esc.counterpart == "sam"
        assert esc.category != "other"
    finally:
        demo.store.close()


def test_a_stray_line_is_never_recorded_on_a_closed_case(tmp_path):
    demo, out = console(tmp_path, london(2026, 12, 1, 10, 0))
    lines = [
        *RAISE_AT_IMMEDIATE_RISK,
        "/resolve Discharge held; strategy discussion booked",
        "oops typed here",
    ]
    try:
        assert demo.run(scripted(out, lines)) == 0
        t = out.getvalue()
        assert "Not recorded: E-0001 is resolved. To add to its record anyway, use /note E-0001" in t
        assert [n.discussed for n in demo.bot.load("E-0001").notes] == []
    finally:
        demo.store.close()
