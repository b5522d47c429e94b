"""`demo --auto --keep FILE` leaves a database a newcomer can try `list`, `export` and `report` on."""

from __future__ import annotations

import pytest
from test_commands import assert_usage_error

import adapters.console


def test_the_kept_database_has_the_walkthrough_and_sample_history(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(adapters.console, "SAMPLE_COUNT", 25)  # the demo keeps 400; 25 is enough here
    result = cli("demo", "--auto", "--keep", "demo.db")
    assert result.code == 0
    assert "Kept a copy of the database in demo.db, with 25 sample differences" in result.out
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    listed = cli("--database-url", url, "list")
    assert "CIN-20931" in listed.out and "case CASE-" in listed.out  # list shows the open and recent
    exported = cli("--database-url", url, "export", "E-0001")
    assert exported.out.startswith("# Case record: escalation E-0001")
    report = cli(
        "--database-url",
        url,
        "report",
        "--policy",
        "camden",
        "--from",
        "2025-12-01",
        "--to",
        "2026-12-31",
        "--format",
        "md",
    )
    assert report.code == 0 and "| Raised |" in report.out


@pytest.mark.parametrize(
    ("name", "fragment"), [("demo.db", "already exists"), ("no/such/demo.db", "does not exist")]
)
def test_keep_refuses_a_file_that_exists_or_a_missing_folder(cli, tmp_path, name, fragment):
    (tmp_path / "demo.db").write_text("mine")
    assert_usage_error(cli("demo", "--auto", "--keep", name), "--keep", fragment)
    assert (tmp_path / "demo.db").read_text() == "mine"
