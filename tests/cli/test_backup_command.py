"""`backup` and `restore` refuse what would lose or damage data, each in one line with exit 2."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_commands import assert_usage_error

from adapters.backup import DatabaseBusy, _exclusive, hold_server_lock
from bot.people import Person
from bot.storage import Storage

URL = "sqlite:///bot.db"


def make_database(path: str = "bot.db") -> None:
    store = Storage.open(f"sqlite:///{path}")
    store.upsert_people([Person(id="alex", name="Alex Morgan", agency="Camden", role="Social Worker")])
    store.close()


def test_backup_refuses_to_overwrite_a_file_or_copy_a_missing_database(cli, tmp_path: Path):
    assert_usage_error(cli("--database-url", URL, "backup", "copy.db"), "no database at 'bot.db'")
    make_database()
    Path("copy.db").write_text("an older backup", encoding="utf-8")
    assert_usage_error(cli("--database-url", URL, "backup", "copy.db"), "'copy.db' already exists")
    assert Path("copy.db").read_text(encoding="utf-8") == "an older backup"
    assert_usage_error(cli("--database-url", URL, "backup", "nowhere/copy.db"), "folder 'nowhere'")


def test_restore_checks_the_file_is_a_database_of_ours_before_replacing_anything(cli, tmp_path: Path):
    make_database()
    before = Path("bot.db").read_bytes()
    Path("notes.txt").write_text("not a database at all, just some words " * 50, encoding="utf-8")
    with sqlite3.connect("other.db") as conn:
        conn.execute("CREATE TABLE things (x)")
    with sqlite3.connect("newer.db") as conn:
        for table in ("people", "escalations", "events", "reminders", "outbox"):
            conn.execute(f"CREATE TABLE {table} (x)")
        conn.execute("PRAGMA user_version = 999")
    assert_usage_error(cli("--database-url", URL, "restore", "missing.db"), "'missing.db': no such file")
    assert_usage_error(cli("--database-url", URL, "restore", "notes.txt"), "not a database the bot can read")
    assert_usage_error(cli("--database-url", URL, "restore", "other.db"), "not an escalation bot's")
    assert_usage_error(cli("--database-url", URL, "restore", "newer.db"), "schema version 999, newer")
    assert Path("bot.db").read_bytes() == before
    assert not list(Path().glob("bot.db.before-restore-*"))


def test_a_server_on_the_database_stops_a_restore_and_a_restore_stops_a_server(cli, tmp_path: Path):
    make_database()
    assert cli("--database-url", URL, "backup", "copy.db").code == 0
    lock = hold_server_lock(URL)
    try:
        assert_usage_error(cli("--database-url", URL, "restore", "copy.db"), "a server is running on")
    finally:
        assert lock is not None
        lock.close()
    result = cli("--database-url", URL, "restore", "copy.db")
    assert result.code == 0, result.err
    assert "1 people" in result.out
    with _exclusive(URL), pytest.raises(DatabaseBusy, match="a restore is replacing the database"):
        hold_server_lock(URL)
