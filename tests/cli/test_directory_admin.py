"""A directory an admin can keep: list, show and export it, and import what a spreadsheet saves,
with each mistake named by its line and what to do (issue 10, part 5)."""

from __future__ import annotations

import json

import pytest
from test_commands import EXAMPLE_DIRECTORY, assert_usage_error, count_people, url_for

HEADER = "id,name,agency,role,manager_id,email,slack_id\n"


@pytest.fixture
def imported(cli, monkeypatch, tmp_path):
    url = url_for(tmp_path / "x.db")
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli("directory", "import", str(EXAMPLE_DIRECTORY)).code == 0
    return url


def test_list_shows_everyone_or_one_agency_and_how_to_reach_them(cli, imported):
    everyone = cli("directory", "list")
    assert everyone.code == 0 and len(everyone.out.splitlines()) == 10
    health = cli("directory", "list", "--agency", "whittington health", "--json")
    rows = json.loads(health.out)
    assert {r["id"] for r in rows} == {"sam", "priya", "nora"}
    assert all(r["agency"] == "Whittington Health" for r in rows)


def test_show_names_the_manager_and_accounts(cli, imported):
    shown = cli("directory", "show", "alex")
    assert shown.code == 0
    assert "line manager:        Jo Bennett (Team Manager, Camden Children's Services)" in shown.out
    assert_usage_error(cli("directory", "show", "nobody"), "no one with id 'nobody'", "directory list")


def test_export_writes_a_file_that_imports_back_the_same(cli, imported, monkeypatch, tmp_path):
    out = tmp_path / "saved.csv"
    assert cli("directory", "export", str(out)).code == 0
    before = {p.id: p for p in count_people(imported)}
    monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "fresh.db"))
    assert cli("directory", "import", str(out)).code == 0
    after = {p.id: p for p in count_people(url_for(tmp_path / "fresh.db"))}
    assert after == before


def test_a_csv_saved_by_excel_in_windows_1252_with_capital_headers_imports(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "x.db"))
    saved = tmp_path / "people.csv"
    saved.write_bytes(
        "ID,Name,Agency,Role\r\nrene,René Dubois,Camden Children's Services,Social Worker\r\n".encode(
            "cp1252"
        )
    )
    result = cli("directory", "import", str(saved))
    assert result.code == 0, result.err
    assert "read as Windows-1252" in result.out
    (rene,) = count_people(url_for(tmp_path / "x.db"))
    assert rene.name == "René Dubois"


def test_a_utf8_file_with_a_byte_order_mark_imports_without_a_notice(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "x.db"))
    saved = tmp_path / "people.csv"
    saved.write_text("id,name,agency,role\nzoe,Zoë Hart,School,DSL\n", encoding="utf-8-sig")
    result = cli("directory", "import", str(saved))
    assert result.code == 0 and "Windows-1252" not in result.out


@pytest.mark.parametrize(
    ("rows", "fragments"),
    [
        (
            "a,A One,Camden,SW,,a@camden.gov.uk,U1\nb,B Two,Camden,SW,,b@camden.gov.uk,U1\n",
            ("line 3", "slack_id 'U1' is also a's (line 2)", "one account belongs to one person"),
        ),
        ("a,A One,Camden,SW,,not-an-email,\n", ("line 2", "'not-an-email' is not an email address")),
        ("a," + "N" * 500 + ",Camden,SW,,,\n", ("line 2", "name is 500 characters long", "at most 200")),
    ],
    ids=["shared-slack-id", "bad-email", "absurd-length"],
)
def test_each_import_mistake_names_its_line_and_what_to_do(cli, monkeypatch, tmp_path, rows, fragments):
    monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "x.db"))
    bad = tmp_path / "people.csv"
    bad.write_text(HEADER + rows, encoding="utf-8")
    assert_usage_error(cli("directory", "import", str(bad)), "people.csv", *fragments)


def test_an_account_already_someone_elses_in_the_directory_is_refused(cli, imported, tmp_path):
    taken = next(p for p in count_people(imported) if p.email)
    bad = tmp_path / "people.csv"
    bad.write_text(HEADER + f"newbie,New Person,Camden,SW,,{taken.email.upper()},\n", encoding="utf-8")
    assert_usage_error(
        cli("directory", "import", str(bad)), "line 2", f"is also {taken.id}'s (the directory already)"
    )


def test_an_unknown_column_gets_a_hint(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url_for(tmp_path / "x.db"))
    bad = tmp_path / "people.csv"
    bad.write_text("id,name,agency,role,manger_id\na,A,Camden,SW,\n", encoding="utf-8")
    assert_usage_error(cli("directory", "import", str(bad)), "manger_id", "did you mean manager_id?")


def test_deactivate_says_who_was_asked_to_take_over(cli, imported):
    from adapters.system_clock import SystemClock
    from bot.commands import RaiseEscalation
    from bot.core import EscalationBot
    from bot.policy import PolicyLibrary
    from bot.storage import Storage

    store = Storage.open(imported)
    bot = EscalationBot(
        store=store,
        policies=PolicyLibrary.load(),
        clock=SystemClock(),
    )
    bot.handle(
        RaiseEscalation(actor="alex", policy_id="camden", case_reference="CIN-1", counterpart="sam",
                        category="threshold", issue="I", risk="R", outcome_wanted="O")
    )  # fmt: skip
    store.close()
    result = cli("directory", "deactivate", "sam")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "Sam Patel can no longer use the bot.",
        "E-0001: asked Priya Nair (Health Visiting Team Lead, Whittington Health) who takes over.",
    ]
    assert cli("directory", "deactivate", "sam").out == "Sam Patel was already deactivated.\n"
    assert_usage_error(cli("directory", "deactivate", "nobody"), "no one with id 'nobody'")


def test_someone_named_in_a_raise_is_listed_as_unconfirmed_until_imported(cli, imported, tmp_path):
    from bot.people import Newcomer, add_newcomer
    from bot.storage import Storage

    store = Storage.open(imported)
    ann = add_newcomer(store, Newcomer("Dr Ann Lowe", "Brecknock Surgery", "GP", "ann.lowe@nhs.net"))
    store.close()
    (line,) = [row for row in cli("directory", "list").out.splitlines() if "Ann Lowe" in row]
    assert line.endswith("email  (unconfirmed: named in a raise; import them to confirm)")
    assert (
        "status:              unconfirmed: named in a raise, reached by email"
        in cli("directory", "show", ann.id).out
    )
    (row,) = [r for r in json.loads(cli("directory", "list", "--json").out) if r["id"] == ann.id]
    assert (row["confirmed"], row["active"]) == (False, True)
    confirm = tmp_path / "confirm.csv"
    confirm.write_text(HEADER + f"{ann.id},Dr Ann Lowe,Brecknock Surgery,GP,,ann.lowe@nhs.net,\n", "utf-8")
    assert cli("directory", "import", str(confirm)).code == 0
    assert "status:              active" in cli("directory", "show", ann.id).out


def test_a_reimport_without_workspace_or_tenant_columns_keeps_what_the_bot_learned(cli, imported, tmp_path):
    from dataclasses import replace

    from bot.storage import Storage

    store = Storage.open(imported)
    sam = store.person("sam")
    store.upsert_people(
        [replace(sam, slack_id="USAM", slack_team="T2", teams_id="aad-sam", teams_tenant="t-b")]
    )
    store.close()
    again = tmp_path / "again.csv"
    again.write_text(
        HEADER + "sam,Sam Patel,Whittington Health,Health Visitor,,sam.patel@example.org,\n", "utf-8"
    )
    assert cli("directory", "import", str(again)).code == 0
    shown = cli("directory", "show", "sam").out
    assert "USAM (T2)" in shown and "aad-sam (t-b)" in shown
    moved = tmp_path / "moved.csv"
    moved.write_text(
        HEADER + "sam,Sam Patel,Whittington Health,Health Visitor,,sam.patel@example.org,UNEW\n", "utf-8"
    )
    assert cli("directory", "import", str(moved)).code == 0
    assert "UNEW (workspace not yet seen)" in cli("directory", "show", "sam").out
