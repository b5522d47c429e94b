"""The `escalation-bot` command line as someone at a terminal sees it: output, exit status, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.cli import main
from bot.clock import ManualClock
from bot.commands import AddNote, RaiseEscalation, Resolve
from bot.core import EscalationBot
from bot.people import parse_directory_csv
from bot.policy import PolicyLibrary
from bot.storage import Storage
from support import REPO, london

POLICY_IDS = {"cambridgeshire-peterborough", "camden", "enfield", "kingston-richmond", "redbridge"}
EXAMPLE_DIRECTORY = REPO / "examples" / "directory.csv"
CAMDEN_YAML = REPO / "policies" / "camden.yaml"
ERROR_PREFIX = "escalation-bot: error: "


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run `escalation-bot ARGS` in-process, in an empty folder, with no DATABASE_URL set."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("POLICIES_DIR", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def assert_usage_error(result: Result, *fragments: str) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr that mentions every fragment."""
    assert result.code == 2, result
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    line = lines[0]
    assert line.startswith(ERROR_PREFIX), line
    for fragment in fragments:
        assert fragment in line, line
    return line


def url_for(path: Path) -> str:
    return f"sqlite:///{path}"


def example_people():
    return parse_directory_csv(EXAMPLE_DIRECTORY.read_text(encoding="utf-8"), source="directory.csv")


def count_people(url: str) -> list:
    store = Storage.open(url, create=False)
    try:
        return store.people()
    finally:
        store.close()


# -- policies ------------------------------------------------------------------------------------


def test_policies_list_shows_each_bundled_policy_once(cli):
    result = cli("policies", "list")
    assert result.code == 0
    assert result.err == ""
    ids = [line.split()[0] for line in result.out.splitlines()]
    assert sorted(ids) == sorted(POLICY_IDS)
    camden = next(line for line in result.out.splitlines() if line.startswith("camden "))
    assert "6 stages" in camden
    assert "Camden Safeguarding Children Partnership" in camden


def test_policies_show_camden_gives_stages_timescales_and_emergency_numbers(cli):
    result = cli("policies", "show", "camden")
    assert result.code == 0
    lines = result.out.splitlines()
    for number, title in [
        (1, "Discussion between front line workers"),
        (2, "Discussion between frontline managers"),
        (5, "The CSCP Dispute Resolution meeting"),
        (6, "Secretary of State"),
    ]:
        assert any(line.startswith(f"{number}. {title}") for line in lines), title
    stage_one = next(line for line in lines if line.startswith("1. "))
    # The policy says "1 working week"; either wording is the same five working days.
    assert "1 working week" in stage_one or "5 working days" in stage_one
    assert "24 hours if urgent" in stage_one
    stage_six = next(line for line in lines if line.startswith("6. "))
    assert "no timescale" in stage_six
    assert "999" in result.out
    assert "020 7974 3369" in result.out


def test_policies_check_accepts_a_bundled_policy(cli):
    result = cli("policies", "check", str(CAMDEN_YAML))
    assert result.code == 0
    assert result.err == ""
    assert "OK" in result.out
    assert "camden" in result.out
    assert "6 stages" in result.out


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("\nname: Camden Safeguarding Children Partnership\n", "\n", "'name' is missing"),
        ("standard: 1 working week", "standard: sometime soon", "stages[0].timescale.standard"),
    ],
    ids=["missing-name", "bad-timescale"],
)
def test_policies_check_of_a_broken_file_names_the_file_and_the_field(cli, tmp_path, old, new, field):
    text = CAMDEN_YAML.read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert_usage_error(cli("policies", "check", str(broken)), "broken.yaml", field)


def test_policies_check_of_invalid_yaml_says_where(cli, tmp_path):
    broken = tmp_path / "syntax.yaml"
    broken.write_text("id: [unclosed\n", encoding="utf-8")
    assert_usage_error(cli("policies", "check", str(broken)), "syntax.yaml", "YAML", "line")


def test_policies_check_of_a_missing_file_exits_2(cli):
    assert_usage_error(cli("policies", "check", "no-such-policy.yaml"), "no-such-policy.yaml")


def test_policies_check_of_a_file_that_is_not_utf8_exits_2(cli, tmp_path):
    binary = tmp_path / "saved-from-word.yaml"
    binary.write_bytes(b"\xff\xfeid: camden\n")
    assert_usage_error(cli("policies", "check", str(binary)), "saved-from-word.yaml", "UTF-8")


def test_policies_check_refuses_a_key_given_twice(cli, tmp_path):
    text = CAMDEN_YAML.read_text(encoding="utf-8")
    doubled = tmp_path / "doubled.yaml"
    doubled.write_text(text.replace("id: camden\n", "id: camden\nid: camden-2\n", 1), encoding="utf-8")
    assert_usage_error(cli("policies", "check", str(doubled)), "doubled.yaml", "'id'", "twice")


# -- timeline ------------------------------------------------------------------------------------


def timeline_json(cli, *args: str) -> dict:
    result = cli("timeline", *args, "--json")
    assert result.code == 0, result.err
    assert result.err == ""
    return json.loads(result.out)


def test_timeline_json_counts_working_days_over_christmas(cli):
    doc = timeline_json(cli, "--policy", "camden", "--start", "2026-12-23T10:00")
    assert doc["policy"] == "camden"
    assert doc["urgent"] is False
    stages = doc["stages"]
    assert [s["stage"] for s in stages] == [1, 2, 3, 4, 5, 6]
    assert stages[0]["title"] == "Discussion between front line workers"
    assert stages[0]["starts"] == "2026-12-23T10:00:00+00:00"
    # 24 Dec, 29, 30, 31 Dec and 4 Jan: Christmas, the Boxing Day substitute and New Year are skipped.
    assert stages[0]["due"] == "2027-01-04T17:00:00+00:00"
    assert stages[1]["starts"] == stages[0]["due"]
    assert stages[-1]["due"] is None  # the Secretary of State stage has no timescale
    for stage in stages:
        assert datetime.fromisoformat(stage["starts"]).utcoffset() is not None, stage


def test_timeline_start_without_an_offset_is_london_time(cli):
    local = timeline_json(cli, "--policy", "camden", "--start", "2027-06-01T10:00")
    explicit = timeline_json(cli, "--policy", "camden", "--start", "2027-06-01T09:00+00:00")
    assert local["stages"][0]["starts"] == "2027-06-01T10:00:00+01:00"
    assert local == explicit


def test_urgent_timeline_counts_elapsed_hours_across_the_clock_change(cli):
    doc = timeline_json(cli, "--policy", "camden", "--urgent", "--start", "2027-03-27T12:00")
    assert doc["urgent"] is True
    assert doc["stages"][0]["starts"] == "2027-03-27T12:00:00+00:00"
    assert doc["stages"][0]["due"] == "2027-03-28T13:00:00+01:00"


def test_timeline_text_names_each_stage_and_its_due_time(cli):
    result = cli("timeline", "--policy", "camden", "--start", "2026-12-23T10:00")
    assert result.code == 0
    assert result.err == ""
    assert "Stage 1: Discussion between front line workers" in result.out
    assert "Stage 6: Secretary of State" in result.out
    assert "due 5pm Mon 4 Jan 2027" in result.out
    assert "no timescale in the policy" in result.out


def test_timeline_urgent_without_an_urgent_timescale_says_so(cli):
    result = cli("timeline", "--policy", "redbridge", "--urgent", "--start", "2026-12-01T10:00")
    assert result.code == 0
    assert "no separate urgent timescale" in result.out
    plain = cli("timeline", "--policy", "camden", "--urgent", "--start", "2026-12-01T10:00")
    assert "no separate urgent timescale" not in plain.out


def test_timeline_json_lists_redbridge_milestones_with_their_due_times(cli):
    doc = timeline_json(cli, "--policy", "redbridge", "--start", "2026-12-23T10:00")
    first = doc["stages"][0]
    assert first["milestones"] == [
        {"name": "Speak to the concerned professional", "due": "2026-12-30T17:00:00+00:00"}
    ]
    second = doc["stages"][1]
    assert {"name": "Line managers informed", "due": "2026-12-31T17:00:00+00:00"} in second["milestones"]
    for stage in doc["stages"]:
        for milestone in stage["milestones"]:
            assert set(milestone) == {"name", "due"}


# -- bad input on every command: exit 2, one line on stderr ---------------------------------------


BAD_INPUT = [
    (("timeline", "--policy", "nope", "--start", "2026-12-23T10:00"), ("unknown policy 'nope'", "camden")),
    (("policies", "show", "nope"), ("unknown policy 'nope'",)),
    (("timeline", "--policy", "camden", "--start", "23/12/2026"), ("--start", "23/12/2026")),
    (("timeline", "--policy", "camden", "--start", "2026-02-30T10:00"), ("--start",)),
    (("timeline", "--policy", "camden"), ("--start",)),
    (("frob",), ("frob",)),
    ((), ("command",)),
    (("policies",), ("action",)),
    (("policies", "frob"), ("frob",)),
    (("list", "--bogus"), ("--bogus",)),
    (("export",), ("id",)),
    (("directory", "import", "missing.csv"), ("missing.csv", "no such file")),
    (("policies", "check", "missing.yaml"), ("missing.yaml",)),
    (("list",), ("no database",)),
    (("export", "E-0001"), ("no database",)),
]


@pytest.mark.parametrize(
    ("args", "fragments"), BAD_INPUT, ids=[" ".join(args) or "no-arguments" for args, _ in BAD_INPUT]
)
def test_bad_input_exits_2_with_one_line_on_stderr(cli, tmp_path, args, fragments):
    assert_usage_error(cli(*args), *fragments)
    assert not (tmp_path / "escalations.db").exists()


def test_policies_dir_that_does_not_exist_is_one_line(cli, tmp_path):
    missing = tmp_path / "no-policies"
    assert_usage_error(cli("--policies-dir", str(missing), "policies", "list"), str(missing))


def test_list_with_database_in_a_missing_folder(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "nowhere" / "x.db"))
    assert_usage_error(cli("list"), "folder", "nowhere", "does not exist")
    assert not (tmp_path / "nowhere").exists()


def test_directory_import_into_a_missing_folder(cli, tmp_path):
    url = url_for(tmp_path / "nowhere" / "x.db")
    assert_usage_error(
        cli("--database-url", url, "directory", "import", str(EXAMPLE_DIRECTORY)), "does not exist"
    )


@pytest.mark.parametrize("url", ["mysql://db/escalations", "sqlite://x.db", "escalations.db"])
def test_database_url_must_be_sqlite_or_postgresql(cli, monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    assert_usage_error(cli("list"), "DATABASE_URL", "sqlite:///", "postgresql://")


def test_a_postgresql_server_that_cannot_be_reached_is_named_without_the_password(cli, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://ward:s3cret@127.0.0.1:1/escalations")
    line = assert_usage_error(cli("list"), "DATABASE_URL", "127.0.0.1:1/escalations")
    assert "s3cret" not in line and "ward" not in line


def test_database_url_naming_no_file(cli, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///")
    assert_usage_error(cli("list"), "DATABASE_URL")


def test_database_url_pointing_at_a_file_that_is_not_a_database(cli, monkeypatch, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n" * 100, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", url_for(notes))
    assert_usage_error(cli("list"), "notes.txt")
    assert notes.read_text(encoding="utf-8") == "shopping list\n" * 100


def test_export_of_an_unknown_id(cli, monkeypatch, tmp_path):
    url = url_for(tmp_path / "x.db")
    Storage.open(url).close()
    monkeypatch.setenv("DATABASE_URL", url)
    assert_usage_error(cli("export", "E-0042"), "no escalation 'E-0042'")


# -- directory import ----------------------------------------------------------------------------


def test_directory_import_of_the_example_and_again_is_idempotent(cli, monkeypatch, tmp_path):
    url = url_for(tmp_path / "x.db")
    monkeypatch.setenv("DATABASE_URL", url)
    first = cli("directory", "import", str(EXAMPLE_DIRECTORY))
    assert first.code == 0, first.err
    assert first.err == ""
    assert "Imported 10 people" in first.out
    again = cli("directory", "import", str(EXAMPLE_DIRECTORY))
    assert again.code == 0
    assert "Imported 10 people" in again.out
    people = {p.id: p for p in count_people(url)}
    assert len(people) == 10
    assert people["alex"].manager_id == "jo"
    assert people["dee"].admin is True


def test_directory_reimport_updates_a_person_in_place(cli, monkeypatch, tmp_path):
    url = url_for(tmp_path / "x.db")
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli("directory", "import", str(EXAMPLE_DIRECTORY)).code == 0
    update = tmp_path / "update.csv"
    update.write_text(
        "id,name,agency,role,manager_id\n"
        "sam,Sam Patel,Whittington Health,Senior Health Visitor,priya\n"
        "eve,Eve Stone,Camden Children's Services,Social Worker,jo\n",
        encoding="utf-8",
    )
    result = cli("directory", "import", str(update))
    assert result.code == 0, result.err
    people = {p.id: p for p in count_people(url)}
    assert len(people) == 11
    assert people["sam"].role == "Senior Health Visitor"
    assert people["eve"].manager_id == "jo"  # a manager already in the database is accepted


@pytest.mark.parametrize(
    ("csv_text", "fragments"),
    [
        ("id,name,agency\nalex,Alex Morgan,Camden\n", ("people.csv", "missing column", "role")),
        ("id,name,agency,role\nalex,Alex Morgan,Camden,SW\nbob,,Camden,SW\n", ("line 3", "name is empty")),
        (
            "id,name,agency,role,manager_id\nalex,Alex Morgan,Camden,SW,\nbob,Bob,Camden,SW,zed\n",
            ("people.csv", "'zed'", "not in the directory"),
        ),
    ],
    ids=["missing-column", "empty-name", "unknown-manager"],
)
def test_directory_import_refuses_a_bad_csv_and_imports_no_one(
    cli, monkeypatch, tmp_path, csv_text, fragments
):
    url = url_for(tmp_path / "x.db")
    monkeypatch.setenv("DATABASE_URL", url)
    bad = tmp_path / "people.csv"
    bad.write_text(csv_text, encoding="utf-8")
    assert_usage_error(cli("directory", "import", str(bad)), "people.csv", *fragments)
    if (tmp_path / "x.db").exists():
        assert count_people(url) == []


def test_directory_import_unknown_manager_names_the_line(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "x.db"))
    bad = tmp_path / "people.csv"
    bad.write_text(
        "id,name,agency,role,manager_id\nalex,Alex Morgan,Camden,SW,\nbob,Bob,Camden,SW,zed\n",
        encoding="utf-8",
    )
    assert_usage_error(cli("directory", "import", str(bad)), "line 3", "manager_id")


# -- list and export, on data built through the core ---------------------------------------------


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """E-0001 (camden, open, with a phone-call note) and E-0002 (redbridge, resolved)."""
    url = url_for(tmp_path / "cases.db")
    store = Storage.open(url)
    store.upsert_people(example_people())
    clock = ManualClock(london(2026, 12, 1, 10, 0))
    bot = EscalationBot(store=store, policies=PolicyLibrary.load(), clock=clock)
    bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id="camden",
            case_reference="CIN-20931",
            counterpart="sam",
            category="threshold",
            issue="Health visiting plans to close the case next week.",
            risk="Two missed health appointments.",
            outcome_wanted="Keep health visiting open until the review.",
        )
    )
    clock.advance(timedelta(hours=2))
    bot.handle(
        AddNote(
            actor="sam",
            escalation_id="E-0001",
            discussed="Agreed to share the last three visit notes",
            form="Phone call",
            involved="Alex Morgan and Sam Patel",
            outcome="Notes to follow by Friday",
        )
    )
    bot.handle(
        RaiseEscalation(
            actor="chris",
            policy_id="redbridge",
            case_reference="CP-77",
            counterpart="alex",
            category="other",
            issue="Referral not acknowledged.",
            risk="Unclear who is visiting.",
            outcome_wanted="A named social worker.",
        )
    )
    bot.handle(Resolve(actor="chris", escalation_id="E-0002", outcome="Social worker allocated"))
    store.close()
    monkeypatch.setenv("DATABASE_URL", url)
    return clock


def test_list_json_gives_every_field_a_report_needs(cli, seeded):
    result = cli("list", "--json")
    assert result.code == 0, result.err
    rows = {row["id"]: row for row in json.loads(result.out)}
    e1 = rows["E-0001"]
    overdue = datetime.fromisoformat(e1.pop("due")) < datetime.now(UTC)  # the CLI's clock is the wall's
    assert e1.pop("overdue") is overdue
    e1.pop("overdue_working_days"), e1.pop("overdue_by")
    assert e1 == {
        "id": "E-0001",
        "policy": "camden",
        "case_reference": "CIN-20931",
        "category": "threshold",
        "urgent": False,
        "immediate_risk": False,
        "stage": 1,
        "stage_title": "Discussion between front line workers",
        "status": "open",
        "opened": "2026-12-01T10:00:00+00:00",
        "raiser_agency": "Camden Children's Services",
        "counterpart_agency": "Whittington Health",
        "highest_stage": 1,
        "ended_at": None,
        "outcome_kind": None,
    }
    e2 = rows["E-0002"]
    assert (e2["policy"], e2["status"], e2["due"], e2["overdue"]) == ("redbridge", "resolved", None, False)
    assert e2["outcome_kind"] == "resolved by the raising side" and e2["ended_at"]


def test_list_text_shows_one_line_per_escalation(cli, seeded):
    result = cli("list")
    assert result.code == 0
    lines = result.out.splitlines()
    assert len(lines) == 2
    e1 = next(line for line in lines if line.startswith("E-0001"))
    assert "camden" in e1
    assert "due 5pm Tue 8 Dec 2026" in e1
    assert "CIN-20931" in e1


def test_list_filters_by_status_policy_agency_and_date(cli, seeded):
    def ids(*args):
        return [row["id"] for row in json.loads(cli("list", "--json", *args).out)]

    # Overdue first, then newest: E-0001 falls due at 5pm Tue 8 Dec 2026 (the CLI uses the wall clock).
    late = datetime.now(UTC) > datetime(2026, 12, 8, 17, tzinfo=UTC)
    assert ids() == (["E-0001", "E-0002"] if late else ["E-0002", "E-0001"])
    assert ids("--status", "open") == ["E-0001"]
    assert ids("--status", "resolved") == ["E-0002"]
    assert ids("--policy", "redbridge") == ["E-0002"]
    assert ids("--agency", "whittington health") == ["E-0001"]
    assert ids("--since", "2026-12-02") == []
    assert_usage_error(cli("list", "--policy", "nowhere"), "no policy 'nowhere'", "camden")
    assert_usage_error(cli("list", "--since", "last tuesday"), "is not a date", "2026-12-01")
    assert_usage_error(cli("list", "--status", "lost"), "invalid choice")
    assert_usage_error(cli("list", "--limit", "0"), "not a whole number above 0")


def test_a_capped_list_says_how_many_more(cli, seeded):
    result = cli("list", "--limit", "1")
    lines = result.out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("…and 1 more: raise --limit")


def test_list_of_an_empty_database(cli, monkeypatch, tmp_path):
    url = url_for(tmp_path / "x.db")
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli("directory", "import", str(EXAMPLE_DIRECTORY)).code == 0
    assert cli("list").out.strip() == "No escalations yet."
    assert json.loads(cli("list", "--json").out) == []


def test_export_gives_the_case_record_as_markdown(cli, seeded):
    result = cli("export", "E-0001")
    assert result.code == 0, result.err
    assert result.err == ""
    record = result.out
    assert record.startswith("# Case record: escalation E-0001")
    assert "CIN-20931" in record
    assert "Agreed to share the last three visit notes" in record
    assert "**Form of communication:** Phone call" in record
    assert "**Who was involved:** Alex Morgan and Sam Patel" in record
    assert "**What was discussed:**" in record
    assert "**Outcome:** Notes to follow by Friday" in record
    assert "Sam Patel (Health Visitor, Whittington Health)" in record
    stages = record.split("## Stages", 1)[1]
    assert "| Stage | Title | Started | Due | Ended |" in stages
    assert "| 1 | Discussion between front line workers |" in stages
    assert "5pm Tue 8 Dec 2026" in stages
    assert "CP-77" not in record  # only the one escalation


def test_export_accepts_a_lower_case_id(cli, seeded):
    result = cli("export", "e-0002")
    assert result.code == 0, result.err
    assert result.out.startswith("# Case record: escalation E-0002")
    assert "Social worker allocated" in result.out


# -- a real process ------------------------------------------------------------------------------


def run_process(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env={**clean, **(env or {})},
        timeout=60,
        check=False,
    )


def test_a_real_process_prints_the_timeline_and_exits_0(tmp_path):
    # No LANG or LC_* in the environment: the bullet points must still print.
    done = run_process(tmp_path, "timeline", "--policy", "redbridge", "--start", "2026-12-23T10:00")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Stage 1: Practitioner and decision maker" in done.stdout
    assert "• Speak to the concerned professional: by 5pm Wed 30 Dec 2026" in done.stdout


def test_a_real_process_imports_then_lists(tmp_path):
    env = {"DATABASE_URL": url_for(tmp_path / "x.db")}
    done = run_process(tmp_path, "directory", "import", str(EXAMPLE_DIRECTORY), env=env)
    assert done.returncode == 0, done.stderr
    assert "Imported 10 people" in done.stdout
    listed = run_process(tmp_path, "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


@pytest.mark.parametrize(
    "args",
    [
        ("timeline", "--policy", "nope", "--start", "garbage"),
        ("list",),
        ("frob",),
    ],
)
def test_a_real_process_exits_2_without_a_traceback(tmp_path, args):
    done = run_process(tmp_path, *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(ERROR_PREFIX)
    assert not (tmp_path / "escalations.db").exists()


def test_demo_with_a_policies_folder_that_does_not_exist_is_one_line(cli, tmp_path):
    assert_usage_error(
        cli("--policies-dir", str(tmp_path / "nope"), "demo", "--auto"), "no such policy folder"
    )


def test_a_start_too_far_in_the_future_is_one_line(cli):
    assert_usage_error(
        cli("timeline", "--policy", "camden", "--start", "9999-12-30T10:00"), "too far in the future"
    )


def test_serve_on_a_port_in_use_is_one_line(cli, monkeypatch, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        monkeypatch.setenv("PORT", str(taken.getsockname()[1]))
        monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "x.db"))
        result = cli("serve")
    # What it was doing is logged first; the error itself is one line, last, with no traceback.
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1].startswith("escalation-bot: error: cannot listen on port")


def test_serve_refuses_a_graph_install_it_could_not_do_in_one_line(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "x.db"))
    monkeypatch.setenv("TEAMS_GRAPH_INSTALL_TENANTS", "tenant-b")
    result = cli("serve")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip().splitlines()[-1] == (
        "escalation-bot: error: TEAMS_GRAPH_INSTALL_TENANTS needs MicrosoftAppId and MicrosoftAppPassword "
        "(the bot asks each tenant for its Graph token with them)"
    )


def test_reimporting_the_directory_keeps_what_the_bot_learned_in_chat(cli, monkeypatch, tmp_path):
    from dataclasses import replace

    url = url_for(tmp_path / "x.db")
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli("directory", "import", str(EXAMPLE_DIRECTORY)).code == 0
    store = Storage.open(url)
    store.upsert_people([replace(store.person("chris"), manager_id="ravi", slack_id="UCHRIS")])
    store.close()
    assert cli("directory", "import", str(EXAMPLE_DIRECTORY)).code == 0
    store = Storage.open(url)
    chris = store.person("chris")
    store.close()
    assert (chris.manager_id, chris.slack_id) == ("ravi", "UCHRIS")


def test_an_admin_can_list_roles_and_remove_one(cli, monkeypatch, tmp_path):
    from bot.people import Role
    from bot.storage import Storage

    url = url_for(tmp_path / "x.db")
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli("directory", "import", str(EXAMPLE_DIRECTORY)).code == 0
    store = Storage.open(url)
    store.name_role_holder(Role.NAMED_LEAD, "Whittington Health", "nora")
    listed = cli("directory", "roles")
    assert listed.code == 0
    assert "named safeguarding lead" in listed.out and "[named in chat]" in listed.out
    assert "hana" in listed.out and "[directory]" in listed.out
    removed = cli("directory", "remove-role", "nora", "named safeguarding lead")
    assert removed.code == 0 and "nora no longer holds the role named safeguarding lead." in removed.out
    assert store.role_holders(Role.NAMED_LEAD, "Whittington Health") == []
    bad = cli("directory", "remove-role", "nora", "caretaker")
    assert bad.code == 2 and "'caretaker' is not a role" in bad.err
