"""Backing up and restoring the SQLite database, and the lock that tells a restore a server is on it.

A plain copy of a database in WAL mode is not safe: recent changes live in the `-wal` file until a
checkpoint. Both directions go through SQLite's online backup API instead, which copies a
consistent snapshot page by page while the server goes on writing.

A running server is detected by an advisory lock (`flock`) that `serve` holds, shared, on
`<database>.lock` for as long as it runs; `restore` needs it exclusively. The kernel drops the lock
when the process ends however it ends (a crash, SIGKILL, a container stopped), so there is no stale
pid file or heartbeat to clear by hand and no timeout to guess, and several servers on one database
(which the storage allows) can all hold it at once. It is a separate file because closing any other
handle on the database file itself would drop SQLite's own locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from bot.storage import MIGRATIONS, StorageError, database_path, is_postgres

# The tables a database of ours has had since its first version; a file without them is not ours.
OUR_TABLES = frozenset({"people", "escalations", "events", "reminders", "outbox"})


class DatabaseBusy(StorageError):
    """A server holds the database, or a restore is replacing it; the message says which."""


@dataclass(frozen=True)
class Snapshot:
    """What a backup file holds, checked: enough for the admin to know it is the right one."""

    path: Path
    schema_version: int
    escalations: int
    people: int
    last_change: str | None  # the newest event's time, as stored (UTC)


def lock_path(database_url: str) -> Path | None:
    """The lock file beside the database (None for an in-memory one, or PostgreSQL's)."""
    if is_postgres(database_url):
        return None  # the server keeps its own: back up with pg_dump (README)
    path = database_path(database_url)
    return None if path == ":memory:" else Path(path + ".lock").expanduser()


def hold_server_lock(database_url: str) -> IO[str] | None:
    """Take the server's shared lock and keep it (the returned file) while serving; DatabaseBusy
    while a restore is replacing the database."""
    path = lock_path(database_url)
    if path is None or not path.parent.is_dir():
        return None  # Storage.open says what is wrong with the folder
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatabaseBusy(
            f"a restore is replacing the database {database_path(database_url)!r}; start the server "
            "again when it has finished"
        ) from None
    return handle


@contextlib.contextmanager
def _exclusive(database_url: str) -> Iterator[None]:
    path = lock_path(database_url)
    assert path is not None
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusy(
                f"a server is running on {database_path(database_url)!r} (it holds {path.name}); "
                "stop it first, then restore"
            ) from None
        yield


def _sqlite_only(database_url: str, what: str) -> None:
    if is_postgres(database_url):
        raise StorageError(
            f"{what} copies a SQLite file; PostgreSQL is backed up with its own tools: "
            "pg_dump --format=custom to back up, pg_restore to restore (see the README)"
        )


def inspect(path: Path) -> Snapshot:
    """Check that `path` is a whole database of ours this version can run; StorageError if not."""
    if not path.is_file():
        raise StorageError(f"{str(path)!r}: no such file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = [p for (p,) in conn.execute("PRAGMA quick_check") if not _false_alarm(conn, p)]
            if problems and problems != ["ok"]:
                raise StorageError(f"{str(path)!r} is damaged ({problems[0]})")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version < 1 or not tables >= OUR_TABLES:
                raise StorageError(f"{str(path)!r} is an SQLite database, but not an escalation bot's")
            if version > len(MIGRATIONS):
                raise StorageError(
                    f"{str(path)!r} has schema version {version}, newer than this bot knows "
                    f"({len(MIGRATIONS)}); restore it with the version that made it"
                )
            escalations = conn.execute("SELECT COUNT(*) FROM escalations").fetchone()[0]
            people = conn.execute("SELECT COUNT(*) FROM people").fetchone()[0]
            last = conn.execute("SELECT MAX(at) FROM events").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{str(path)!r} is not a database the bot can read ({exc})") from None
    return Snapshot(path, version, int(escalations), int(people), last)


def _false_alarm(conn: sqlite3.Connection, problem: str) -> bool:
    """SQLite 3.40's quick_check reports "NULL value in T.C" for a NOT NULL column of a WITHOUT
    ROWID table that holds none (escalation_agencies.agency_key); believe it only if a row says so."""
    found = re.fullmatch(r"NULL value in (\w+)\.(\w+)", problem)
    if not found:
        return False
    table, column = found.groups()
    return conn.execute(f'SELECT COUNT(*) FROM "{table}" WHERE "{column}" IS NULL').fetchone()[0] == 0


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of `source` in `target`, as one self-contained file (no -wal beside it)."""
    dest = sqlite3.connect(target)
    try:
        # One step (pages=-1): a single read transaction, so the copy is one moment's snapshot;
        # in WAL mode the server's writes carry on meanwhile.
        source.backup(dest, pages=-1)
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()


def backup(database_url: str, target: Path) -> Snapshot:
    """Copy the live database to `target` (a new file) and check the copy."""
    _sqlite_only(database_url, "backup")
    live = Path(database_path(database_url)).expanduser()
    if not live.is_file():
        raise StorageError(f"no database at {str(live)!r} (set DATABASE_URL)")
    if target.exists():
        raise StorageError(f"backup: {str(target)!r} already exists; name a new file")
    if not target.parent.is_dir():
        raise StorageError(f"backup: folder {str(target.parent)!r} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    source = sqlite3.connect(live, timeout=30)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        _copy(source, partial)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"backup: cannot copy {str(live)!r}: {exc}") from None
    finally:
        source.close()
    # The file appears under its name only once whole, so a backup cut short is never mistaken
    # for a good one.
    os.replace(partial, target)
    return inspect(target)


def restore(source: Path, database_url: str, *, now: datetime) -> tuple[Snapshot, Path | None]:
    """Put the backup `source` in place of the database, refusing while a server runs on it.
    The database it replaces is first copied aside; returns the backup's contents and that copy."""
    _sqlite_only(database_url, "restore")
    snapshot = inspect(source)
    live = Path(database_path(database_url)).expanduser()
    if not live.parent.is_dir():
        raise StorageError(f"DATABASE_URL: folder {str(live.parent)!r} does not exist")
    with _exclusive(database_url):
        kept = None
        if live.exists():
            kept = live.with_name(f"{live.name}.before-restore-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}")
            current = sqlite3.connect(live, timeout=30)
            try:
                _copy(current, kept)
            except sqlite3.Error as exc:
                raise StorageError(f"restore: cannot keep a copy of {str(live)!r}: {exc}") from None
            finally:
                current.close()
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dest = sqlite3.connect(live, timeout=30)
        try:
            # Through SQLite, page by page into the live file, so its -wal and -shm stay in step.
            backup_db.backup(dest, pages=-1)
            dest.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise StorageError(f"restore: cannot write {str(live)!r}: {exc}") from None
        finally:
            dest.close()
            backup_db.close()
    return snapshot, kept
