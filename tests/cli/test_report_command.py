"""`escalation-bot report`: the learning report as a file or on standard output, and its errors."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from test_commands import assert_usage_error

from bot.clock import ManualClock
from bot.commands import Resolve
from bot.core import EscalationBot
from bot.people import Person
from bot.policy import PolicyLibrary
from bot.storage import Storage
from support import PEOPLE, london, raise_difference

PERIOD = ("--from", "2024-03-01", "--to", "2024-03-31")


@pytest.fixture
def history(tmp_path: Path) -> None:
    """Three differences under Camden in March 2024 (in the past, whatever the machine's clock),
    one between agencies whose names and actions carry markup."""
    store = Storage.open(f"sqlite:///{tmp_path / 'escalations.db'}")
    store.upsert_people(
        [
            *PEOPLE,
            Person("mal", "Mal Ory", "<b>Evil</b> & Co", "Worker"),
            Person("val", "Val", "Other", "Worker"),
        ]
    )
    clock = ManualClock(london(2024, 3, 5, 10))
    bot = EscalationBot(store=store, policies=PolicyLibrary.load(), clock=clock)
    raise_difference(bot, case_reference="CIN-100")
    raise_difference(bot, case_reference="CIN-200", category="action")
    raise_difference(bot, actor="mal", counterpart="val", case_reference="CIN-300")
    clock.advance(timedelta(days=1))
    bot.handle(Resolve("mal", "E-0003", "Agreed.", agreed_actions=("<script>alert(1)</script> visit",)))
    store.close()


def test_html_report_is_one_file_with_the_partnership_period_and_no_script(cli, history, tmp_path):
    result = cli("report", "--policy", "camden", *PERIOD, "--out", "march.html")
    assert result.code == 0, result
    assert "march.html" in result.err and "3 differences" in result.err
    html = (tmp_path / "march.html").read_text(encoding="utf-8")
    assert "Camden Safeguarding Children Partnership" in html
    assert "1 March 2024 to 31 March 2024" in html
    assert "<svg" in html and "CIN-200" in html
    # Nothing fetched, nothing run: no script, stylesheet link or remote image; user text escaped.
    assert (
        "<script" not in html
        and "<link" not in html
        and "src=" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; visit" in html


def test_csv_has_a_row_per_difference_and_can_leave_case_references_out(cli, history):
    result = cli("report", "--policy", "camden", *PERIOD, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [r["case_reference"] for r in rows] == ["CIN-100", "CIN-200", "CIN-300"]
    assert [r["status"] for r in rows] == ["open", "open", "resolved"]
    assert rows[2]["raising_agency"] == "<b>Evil</b> & Co"
    bare = cli("report", "--policy", "camden", *PERIOD, "--format", "csv", "--no-case-references")
    assert "case_reference" not in bare.out.splitlines()[0]
    assert "CIN-" not in bare.out


def test_markdown_and_summary_csv(cli, history):
    md = cli("report", "--policy", "camden", *PERIOD, "--format", "md")
    assert md.out.startswith("# Camden Safeguarding Children Partnership")
    assert "| Raised | 3 |" in md.out
    summary = cli("report", "--policy", "camden", *PERIOD, "--format", "summary-csv", "--no-case-references")
    assert "summary,Raised,3" in summary.out
    assert "CIN-" not in summary.out


def test_an_empty_period_says_so(cli, history):
    result = cli("report", "--policy", "enfield", *PERIOD, "--format", "md")
    assert result.code == 0
    assert "No professional differences were raised under this policy in this period" in result.out


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ("--policy", "camden", "--from", "2024-02-30", "--to", "2024-03-31"),
            ("--from", "2024-02-30", "YYYY-MM-DD"),
        ),
        (("--policy", "camden", "--from", "2024-03-01", "--to", "March"), ("--to", "'March'")),
        (("--policy", "camden", "--from", "2024-04-01", "--to", "2024-03-01"), ("ends (2024-03-01) before",)),
        (("--policy", "hackney", *PERIOD), ("unknown policy 'hackney'",)),
        (("--policy", "camden", *PERIOD, "--out", "no/such/folder/r.html"), ("--out", "no such folder")),
        (("--policy", "camden", *PERIOD, "--out", "."), ("--out", "is a folder")),
        (("--policy", "camden", *PERIOD, "--format", "pdf"), ("--format", "pdf")),
        (("--policy", "camden", "--to", "2024-03-31"), ("--from",)),
    ],
)
def test_bad_input_is_one_line(cli, history, args, fragments):
    assert_usage_error(cli("report", *args), *fragments)


def test_a_file_that_cannot_be_written_is_one_line(cli, history, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "r.html").mkdir()  # a folder where the file should go: the write fails
    assert_usage_error(cli("report", "--policy", "camden", *PERIOD, "--out", "locked/r.html"), "--out")


def test_no_database_is_one_line(cli):
    assert_usage_error(cli("report", "--policy", "camden", *PERIOD), "no database")
