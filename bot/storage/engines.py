"""The two database engines behind `Storage`: SQLite (embedded, the default) and PostgreSQL.

`Storage` writes one dialect: SQLite's `?` placeholders and the SQL both engines share (UPSERT's
`ON CONFLICT`, `RETURNING`, TRUE and FALSE). An engine runs it, and supplies the few fragments
that differ (JSON fields, string aggregation, full-text search, row locks for claims).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from bot.storage import postgres_schema, sqlite_schema
from bot.storage.errors import StorageError

DEFAULT_DATABASE_URL = "sqlite:///escalations.db"
# Held for the length of each write transaction on PostgreSQL, so writers take turns as they do
# on SQLite (BEGIN IMMEDIATE): a command reads an escalation, decides and writes in one transaction,
# and two replicas must not decide on the same history at once. Claims of work to send are not
# writes of this kind: they lock only the rows they take (FOR UPDATE SKIP LOCKED).
WRITE_LOCK = 0x65736362  # "escb"


class Rows(Protocol):
    """What running a statement returns: its rows, how many it changed, its column names."""

    rowcount: int
    description: Any

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Engine(Protocol):
    name: str
    # Appended to a claim's row-choosing SELECT: other replicas skip rows being claimed.
    skip_locked: str
    # Whether an UPDATE rewrites the index entries of every column it sets, even to its old value
    # (SQLite's does; PostgreSQL's compares, and leaves unchanged entries where they are).
    rewrites_unchanged_index_entries: bool

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows: ...
    def execute_later(self, sql: str, args: Sequence[Any] = ()) -> None: ...
    def read_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Rows]: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def insert_returning_id(self, table: str, columns: Sequence[str], values: Sequence[Any]) -> int: ...
    def reserve_ids(self, table: str, count: int) -> None: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...
    def bulk(self) -> contextlib.AbstractContextManager[None]: ...
    def schema_version(self) -> int: ...
    def migrate(self, in_transaction: Callable[[], Any]) -> None: ...
    def json_text(self, column: str, key: str) -> str: ...
    def group_concat(self, expression: str) -> str: ...
    def json_array_agg(self, expression: str) -> str: ...
    def json_with(self, column: str) -> str: ...
    def people_matching(self, words: list[str], limit: int) -> tuple[str, list[Any]]: ...
    def settle_erasure(self, in_transaction: bool) -> None: ...


def database_path(url: str) -> str:
    """The SQLite file a `sqlite:///` URL names (relative) or `sqlite:////abs` names (absolute)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise StorageError(
            f"DATABASE_URL must start with {prefix!r} or 'postgresql://', got {url.split(':', 1)[0]!r}"
        )
    path = url[len(prefix) :]
    if not path:
        raise StorageError("DATABASE_URL names no database file")
    return path


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_engine(url: str, *, create: bool) -> Engine:
    """The engine `url` names: `sqlite:///file` or `postgresql://user@host/db`."""
    if is_postgres(url):
        return PostgresEngine.connect(url)
    return SqliteEngine.connect(url, create=create)


class SqliteEngine:
    """One SQLite file, in WAL mode; the connection is used by one thread at a time."""

    name = "sqlite"
    skip_locked = ""  # one writer at a time already
    rewrites_unchanged_index_entries = True

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.db = sqlite_utils.Database(conn)

    @classmethod
    def connect(cls, url: str, *, create: bool) -> SqliteEngine:
        path = database_path(url)
        if path != ":memory:":
            parent = Path(path).expanduser().parent
            if not parent.is_dir():
                raise StorageError(f"DATABASE_URL: folder {str(parent)!r} does not exist")
            if not create and not Path(path).expanduser().exists():
                raise StorageError(f"no database at {path!r} (set DATABASE_URL)")
        try:
            # Opened by one thread and used by the adapters' storage thread, one caller at a time.
            conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            # Deleted content is overwritten, not left in free pages: erasure (bot/retention.py)
            # must leave nothing readable in the file.
            conn.execute("PRAGMA secure_delete=ON")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {path!r}: {exc}") from None
        return cls(conn)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        return self.conn.execute(sql, args)

    def execute_later(self, sql: str, args: Sequence[Any] = ()) -> None:
        self.conn.execute(sql, args)

    def read_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Rows]:
        """Several reads, each whole, in turn: in-process there is no round trip to save."""
        return [
            _Fetched(c.fetchall(), c.rowcount, c.description)
            for c in (self.conn.execute(*s) for s in statements)
        ]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def insert_returning_id(self, table: str, columns: Sequence[str], values: Sequence[Any]) -> int:
        """Insert one row; the id SQLite gave it."""
        sql = insert_sql(table, tuple(columns), returning_id=True)
        return int(self.conn.execute(sql, values).fetchone()[0])

    def reserve_ids(self, table: str, count: int) -> None:
        """Nothing to do in-process: an id costs no round trip here."""

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        # Keys checked at commit, as PostgreSQL's events key is (its v23): a raise writes its
        # history before its escalation's row. SQLite turns this off again at each commit.
        self.conn.execute("PRAGMA defer_foreign_keys = ON")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def bulk(self) -> contextlib.AbstractContextManager[None]:
        """Around a bulk load inside a transaction: nothing to change in-process."""
        return contextlib.nullcontext()

    def close(self) -> None:
        self.conn.close()

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, in_transaction: Callable[[], Any]) -> None:
        current, known = self.schema_version(), len(sqlite_schema.MIGRATIONS)
        if current > known:
            raise StorageError(
                f"database schema version {current} is newer than this bot knows ({known}); upgrade the bot"
            )
        for version, migration in enumerate(sqlite_schema.MIGRATIONS[current:], start=current + 1):
            with in_transaction():
                migration(self.db)
                self.conn.execute(f"PRAGMA user_version = {version}")

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def group_concat(self, expression: str) -> str:
        return f"group_concat({expression})"

    def json_array_agg(self, expression: str) -> str:
        return f"json_group_array({expression})"

    def json_with(self, column: str) -> str:
        # Two placeholders follow: the key, then its text value.
        return f"json_set(COALESCE({column}, '{{}}'), '$.\"' || ? || '\"', ?)"

    def people_matching(self, words: list[str], limit: int) -> tuple[str, list[Any]]:
        query = " ".join(f'"{w}"*' for w in words)
        return (
            "p.rowid IN (SELECT s.rowid FROM people_search s WHERE people_search MATCH ?"
            f" LIMIT {int(limit)})",
            [query],
        )

    def settle_erasure(self, in_transaction: bool) -> None:
        # Merge the search index's segments, so no erased word lingers in an old one, then copy the
        # zeroed pages from the write-ahead log into the file (inside a transaction, the
        # checkpoint that follows its commit does it).
        self.conn.execute("INSERT INTO people_search (people_search) VALUES ('optimize')")
        if not in_transaction:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@lru_cache(maxsize=64)
def insert_sql(table: str, columns: tuple[str, ...], *, returning_id: bool) -> str:
    """One row's INSERT into `table`, with `?` placeholders."""
    marks = ", ".join("?" for _ in columns)
    returning = " RETURNING id" if returning_id else ""
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){returning}"


@lru_cache(maxsize=1024)
def _postgres_sql(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (and a literal % doubled), outside quotes."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("%", "%%").replace("?", "%s")
    for i in range(1, len(parts), 2):
        parts[i] = parts[i].replace("%", "%%")
    return "".join(parts)


class _Fetched:
    """A PostgreSQL result read whole before its connection goes back to the pool."""

    def __init__(self, rows: list[Any], rowcount: int, description: Any) -> None:
        self._rows, self.rowcount, self.description = rows, rowcount, description

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class PostgresEngine:
    """A PostgreSQL database through psycopg 3's connection pool: a statement outside a transaction
    borrows a connection for itself; a transaction keeps one until it ends. The pool replaces
    connections a restarted or failed-over server has broken."""

    name = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    rewrites_unchanged_index_entries = False

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._conn: Any = None
        self._pipeline = contextlib.ExitStack()
        self._sync: Callable[[], None] = lambda: None
        # Ids taken from a table's sequence for this transaction's inserts, and the reservations
        # whose answers have not been read yet (see `insert_returning_id`).
        self._ids: dict[str, list[int]] = {}
        self._reserving: dict[str, list[Any]] = {}
        self._reserved: dict[str, int] = {}

    @classmethod
    def connect(cls, url: str) -> PostgresEngine:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:  # pragma: no cover - both are dependencies
            raise StorageError("DATABASE_URL names PostgreSQL, but psycopg is not installed") from None
        where = url.split("://", 1)[-1].split("@", 1)[-1]  # never the user or password
        try:
            # One connection first, so a wrong host, database or password is named at once.
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as exc:
            reason = " ".join(line.strip() for line in str(exc).splitlines()) or type(exc).__name__
            raise StorageError(f"cannot open the DATABASE_URL database {where!r}: {reason}") from None
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=4,
            # Each statement prepared at its first use, not its sixth: PostgreSQL then plans it
            # afresh for its first five runs and, where a generic plan costs no more, never again.
            # Planning was half of a person's list (0.8 ms of each of its two statements).
            kwargs={"autocommit": True, "prepare_threshold": 0},
            open=False,
            name="escalation-bot",
        )
        try:
            pool.open(wait=True, timeout=15)
        except Exception as exc:
            pool.close()
            raise StorageError(
                f"cannot open the DATABASE_URL database {where!r}: {type(exc).__name__}"
            ) from None
        return cls(pool)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        if self._conn is not None:
            cursor = self._conn.execute(_postgres_sql(sql), list(args))
            self._sync()  # sends what was queued before it too, in one round trip
            rows = cursor.fetchall() if cursor.description else []
            return _Fetched(rows, cursor.rowcount, cursor.description)
        import psycopg

        try:
            with self.pool.connection() as conn:
                return self._run(conn, sql, args)
        except psycopg.OperationalError:
            # A connection the server dropped (a restart, a failover) goes back to the pool broken
            # and is discarded; a statement on its own is safe to run once more on a fresh one.
            with self.pool.connection() as conn:
                return self._run(conn, sql, args)

    @staticmethod
    def _run(conn: Any, sql: str, args: Sequence[Any]) -> Rows:
        cursor = conn.execute(_postgres_sql(sql), list(args))
        rows = cursor.fetchall() if cursor.description else []
        return _Fetched(rows, cursor.rowcount, cursor.description)

    def read_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Rows]:
        """Several reads sent at once, their answers back in one round trip (psycopg's pipeline).
        Outside a transaction each reads on its own, as `execute` would."""
        if self._conn is not None:
            cursors = [self._conn.execute(_postgres_sql(sql), list(args)) for sql, args in statements]
            self._sync()
            return [_Fetched(c.fetchall(), c.rowcount, c.description) for c in cursors]
        import psycopg

        try:
            with self.pool.connection() as conn:
                return self._run_together(conn, statements)
        except psycopg.OperationalError:  # a dropped connection, as in `execute`: reads, safe to run again
            with self.pool.connection() as conn:
                return self._run_together(conn, statements)

    @staticmethod
    def _run_together(conn: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Rows]:
        # Leaving the pipeline syncs and collects every answer: one Sync, one round trip. A
        # `pipeline.sync()` inside it as well cost a second (a Sync is answered on its own).
        with conn.pipeline():
            cursors = [conn.execute(_postgres_sql(sql), list(args)) for sql, args in statements]
        return [_Fetched(c.fetchall(), c.rowcount, c.description) for c in cursors]

    def execute_later(self, sql: str, args: Sequence[Any] = ()) -> None:
        """A write whose answer nobody reads: in a transaction it is queued, and goes with the next
        statement that needs an answer (or the commit). An error in it surfaces there, and the
        transaction rolls back as a whole."""
        if self._conn is not None:
            self._conn.execute(_postgres_sql(sql), list(args))
            return
        self.execute(sql, args)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self._conn is not None:  # queued, as execute_later
            self._conn.cursor().executemany(_postgres_sql(sql), rows)
            return
        with self.pool.connection() as conn:
            conn.cursor().executemany(_postgres_sql(sql), rows)

    def insert_returning_id(self, table: str, columns: Sequence[str], values: Sequence[Any]) -> int:
        """Insert one row; its id. In a transaction the id comes from ids reserved from the table's
        sequence, and the insert waits for nothing: reading each new id back cost a round trip,
        one per event of a sweep. The transaction holds the write lock, so ids still rise in the
        order rows are committed; ids reserved and not used are gaps, as a rollback leaves."""
        if self._conn is None:
            return int(
                self.execute(insert_sql(table, tuple(columns), returning_id=True), values).fetchone()[0]
            )
        ids = self._ids.setdefault(table, [])
        if not ids:
            if not self._reserving.get(table):
                # Twice as many as this transaction has reserved so far (at least 4, at most 64):
                # a raise uses two, a sweep's batch up to one a reminder; unused ids cost nothing.
                self.reserve_ids(table, min(64, max(4, 2 * self._reserved.get(table, 0))))
            for cursor in self._reserving.pop(table):
                # Read with the last statement that waited (a raise's first read), or, if none
                # has since it was asked, waited for now: psycopg asks the server to flush.
                ids.extend(row[0] for row in cursor.fetchall())
        row_id = ids.pop(0)
        sql = _postgres_sql(insert_sql(table, ("id", *columns), returning_id=False))
        self._conn.execute(sql, [row_id, *values])
        return int(row_id)

    def reserve_ids(self, table: str, count: int) -> None:
        """In a transaction: ask for `count` ids of `table`'s sequence, the answer to come with the
        next statement that waits for one; `insert_returning_id` uses them."""
        if self._conn is None or count <= 0:
            return
        cursor = self._conn.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
        )
        self._reserving.setdefault(table, []).append(cursor)
        self._reserved[table] = self._reserved.get(table, 0) + count

    def begin(self) -> None:
        self._conn = self.pool.getconn()
        try:
            # A transaction runs in pipeline mode: a statement waits for the server only when its
            # answer is read, so BEGIN, the lock and the writes nobody reads back travel with the
            # next read or the commit. Each round trip costs more than the statement itself.
            self._sync = self._pipeline.enter_context(self._conn.pipeline()).sync
            self._conn.execute("BEGIN")
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            self._conn.execute("COMMIT")
            self._pipeline.close()  # sends it, with whatever is queued; raises what failed
        except BaseException:
            self.rollback()
            raise
        self._release()

    def rollback(self) -> None:
        try:
            with contextlib.suppress(Exception):  # the error that led here was raised already
                self._pipeline.close()
            self._conn.execute("ROLLBACK")
        except Exception:  # a broken connection: the pool discards it; nothing was committed
            pass
        finally:
            self._release()

    def _release(self) -> None:
        with contextlib.suppress(Exception):
            self._pipeline.close()
        self._sync = lambda: None
        self._ids, self._reserving, self._reserved = {}, {}, {}
        conn, self._conn = self._conn, None
        if conn is not None:
            self.pool.putconn(conn)

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        """Around a bulk load inside a transaction that reads nothing back (bench/scale_build.py):
        statements go pipelined, none waiting for its answer; an error surfaces at the end."""
        with self._conn.pipeline():
            yield

    def close(self) -> None:
        self.pool.close()

    def schema_version(self) -> int:
        self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def migrate(self, in_transaction: Callable[[], Any]) -> None:
        current = self.schema_version()
        known = postgres_schema.MIGRATIONS[-1][0]
        if current > known:
            raise StorageError(
                f"database schema version {current} is newer than this bot knows ({known}); upgrade the bot"
            )
        for version, migration in postgres_schema.MIGRATIONS:
            if version <= current:
                continue
            with in_transaction():
                # Taken under the write lock: a second replica starting at once waits, then finds
                # the schema made.
                if self.schema_version() >= version:
                    continue
                migration(lambda sql: self.execute(sql))
                self.execute("INSERT INTO schema_version (version) VALUES (?)", [version])

    def json_text(self, column: str, key: str) -> str:
        return f"({column}::jsonb ->> '{key}')"

    def group_concat(self, expression: str) -> str:
        return f"string_agg({expression}, ',')"

    def json_array_agg(self, expression: str) -> str:
        return f"json_agg({expression})::text"

    def json_with(self, column: str) -> str:
        return f"(COALESCE({column}, '{{}}')::jsonb || jsonb_build_object(?::text, ?::text))::text"

    def people_matching(self, words: list[str], limit: int) -> tuple[str, list[Any]]:
        query = " & ".join(f"{w.lower()}:*" for w in words)
        return (
            f"p.id IN (SELECT id FROM people WHERE search @@ to_tsquery('simple', ?) LIMIT {int(limit)})",
            [query],
        )

    def settle_erasure(self, in_transaction: bool) -> None:
        # The rows are deleted; PostgreSQL's autovacuum reclaims their space (see the README).
        return None
