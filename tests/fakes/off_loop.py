"""A watch on every SQL statement a test's databases run. The server's one connection is used by
its storage thread alone (adapters/storage_thread.py), so two offences are named, each by the
line that caused it:

- any statement run by the server's async code on the event loop's own thread;
- a write by the test itself from the event loop once the server's storage thread is using the
  database: it could land inside the server's own transaction. A test changes the database
  while a server runs through the storage thread too (`await slack.run(...)`).

Test code reading the database directly is not an offence, nor is the CLI or the console.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from bot.storage import Storage
from support import REPO

ADAPTERS = str(REPO / "adapters")
TESTS = str(REPO / "tests")
WRITES = {"BEGIN", "INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "UPSERT"}


class OffLoopWatch:
    """Attach it to each store a test opens; `offences` lists what ran where it must not."""

    def __init__(self) -> None:
        self.offences: list[str] = []

    def attach(self, store: Storage) -> None:
        # The connection is wrapped, rather than traced through SQLite: a trace callback runs
        # inside SQLite and needs the GIL there, which deadlocks against a test reading directly.
        # SQLite's engine runs every statement through its `conn` (PostgreSQL's pool is not
        # watched: the serving tests run on SQLite).
        if store.engine != "sqlite":
            return
        watched = _Watched(store.sql.conn, self)
        store.sql.conn = watched  # type: ignore[attr-defined]
        store.db.conn = watched  # type: ignore[assignment]

    def statement(self, sql: str, serving: bool) -> None:
        if asyncio._get_running_loop() is None:
            return  # code with no event loop: the CLI, the console, a core test
        frame = sys._getframe(2)
        culprit = _adapter_coroutine(frame)
        if culprit is not None:
            self.offences.append(f"{_where(culprit)}: the server's database work on the event loop")
        elif serving and sql.split(None, 1)[0].upper() in WRITES:
            test = _test_frame(frame)
            self.offences.append(f"{_where(test)}: a test's write from the event loop while serving")


class _Watched:
    """A sqlite3 connection that tells the watch of each statement before it runs."""

    def __init__(self, conn: sqlite3.Connection, watch: OffLoopWatch) -> None:
        self._conn = conn
        self._watch = watch
        self._serving = False

    def _check(self, sql: str) -> None:
        if threading.current_thread().name.startswith("storage"):
            self._serving = True
        else:
            self._watch.statement(sql, self._serving)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return self._conn.executemany(sql, *args)

    def executescript(self, sql: str) -> sqlite3.Cursor:
        self._check(sql)
        return self._conn.executescript(sql)

    def __enter__(self) -> sqlite3.Connection:
        return self._conn.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._conn.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _adapter_coroutine(frame: FrameType | None) -> FrameType | None:
    while frame is not None:
        code = frame.f_code
        if code.co_flags & inspect.CO_COROUTINE and code.co_filename.startswith(ADAPTERS):
            return frame
        frame = frame.f_back
    return None


def _test_frame(frame: FrameType | None) -> FrameType | None:
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(TESTS) and not name.endswith("off_loop.py"):
            return frame
        frame = frame.f_back
    return None


def _where(frame: FrameType | None) -> str:
    if frame is None:
        return "(unknown)"
    return f"{Path(frame.f_code.co_filename).relative_to(REPO)}:{frame.f_lineno} in {frame.f_code.co_name}"
