"""All persistence: SQLite through sqlite-utils, WAL mode, versioned migrations.

This is the only module that writes SQL, so another engine can be added behind the same methods.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.calendar import LONDON
from bot.messages import Message
from bot.people import Person, Role, agency_key

DEFAULT_DATABASE_URL = "sqlite:///escalations.db"
ERASED_REFERENCE = "[erased]"  # an erased escalation's case reference


class StorageError(Exception):
    """A database that cannot be opened or used; the message says which and why."""


def database_path(url: str) -> str:
    """The SQLite file a `sqlite:///` URL names (relative) or `sqlite:////abs` names (absolute)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise StorageError(f"DATABASE_URL must start with {prefix!r}, got {url.split(':', 1)[0]!r}")
    path = url[len(prefix) :]
    if not path:
        raise StorageError("DATABASE_URL names no database file")
    return path


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("storage keeps aware times only")
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _v1(db: sqlite_utils.Database) -> None:
    db["people"].create(
        {
            "id": str,
            "name": str,
            "agency": str,
            "role": str,
            "manager_id": str,
            "email": str,
            "slack_id": str,
            "teams_id": str,
            "admin": int,
        },
        pk="id",
    )
    db["escalations"].create(
        {
            "id": str,
            "number": int,
            "policy_id": str,
            "case_reference": str,
            "status": str,
            "stage": int,
            "due": str,
            "opened_at": str,
            "updated_at": str,
            "participants": str,
        },
        pk="id",
    )
    db["events"].create(
        {
            "id": int,
            "escalation_id": str,
            "at": str,
            "kind": str,
            "actor": str,
            "data": str,
        },
        pk="id",
        foreign_keys=[("escalation_id", "escalations", "id")],
    )
    db["events"].create_index(["escalation_id", "id"])
    db["reminders"].create(
        {
            "id": int,
            "escalation_id": str,
            "stage": int,
            "kind": str,
            "due_at": str,
            "status": str,
            "data": str,
            "done_at": str,
        },
        pk="id",
    )
    db["reminders"].create_index(["status", "due_at"])
    db["outbox"].create(
        {
            "id": int,
            "created_at": str,
            "message": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "delivered_at": str,
        },
        pk="id",
    )
    db["outbox"].create_index(["status", "next_attempt_at"])
    db["addresses"].create(
        {"person_id": str, "platform": str, "kind": str, "address": str},
        pk=("person_id", "platform", "kind"),
    )
    db["questions"].create(
        {
            "id": int,
            "escalation_id": str,
            "person_id": str,
            "kind": str,
            "data": str,
            "status": str,
        },
        pk="id",
    )


def _v2(db: sqlite_utils.Database) -> None:
    # Platform retries (Slack's X-Slack-Retry-Num) must not act twice: remember what was handled.
    db["seen_events"].create({"platform": str, "event_id": str, "seen_at": str}, pk=("platform", "event_id"))
    db["addresses"].create_index(["platform", "address"])


def _v3(db: sqlite_utils.Database) -> None:
    # Partnership admins are named per policy; empty means every policy.
    db["people"].add_column("admin_policies", str)


def _v4(db: sqlite_utils.Database) -> None:
    # Safeguarding roles by (role, agency), so a stage that names a role finds its holders through
    # the primary key. `source` keeps what the directory CSV says apart from what people told the
    # bot in chat, so a re-import replaces the one and keeps the other.
    db["role_holders"].create(
        {"role": str, "agency_key": str, "person_id": str, "source": str},
        pk=("role", "agency_key", "person_id"),
    )
    db["role_holders"].create_index(["person_id"])
    # Open questions are found by who was asked, and by kind (every escalation waiting on a role).
    db["questions"].create_index(["person_id", "status"])
    db["questions"].create_index(["status", "kind"])


def _v5(db: sqlite_utils.Database) -> None:
    # A platform id is bound to where it was issued: a Slack workspace, a Microsoft 365 tenant.
    db["people"].add_column("slack_team", str)
    db["people"].add_column("teams_tenant", str)
    # Every Slack and Teams request finds its sender by platform id (or email, to link them), case
    # blind: by index, not by reading the directory.
    for column in ("slack_id", "teams_id", "email"):
        db.execute(f"CREATE INDEX IF NOT EXISTS people_lower_{column} ON people(lower({column}))")


def _v6(db: sqlite_utils.Database) -> None:
    # Events a platform was told were received wait here until handled, so a stop between the
    # answer and the handling loses nothing. A row is deleted once handled (it holds what was
    # typed); its event id moves to seen_events in the same transaction.
    db["inbox"].create(
        {
            "id": int,
            "platform": str,
            "event_id": str,
            "body": str,
            "received_at": str,
            "attempts": int,
            "status": str,
        },
        pk="id",
    )
    db["inbox"].create_index(["platform", "event_id"], unique=True)
    db["inbox"].create_index(["status", "id"])
    # Which parts of a message have reached the platform, and where (channel:ts, an activity id),
    # kept on the message itself: a retry sends only what has not gone.
    db["outbox"].add_column("parts", str)
    for kind, address in db.execute(
        "SELECT kind, address FROM addresses WHERE kind LIKE 'part:%'"
    ).fetchall():
        _, outbox_id, part = kind.split(":")
        row = db.execute("SELECT parts FROM outbox WHERE id = ?", [int(outbox_id)]).fetchone()
        if row is not None:
            parts = {**json.loads(row[0] or "{}"), part: address}
            db.execute("UPDATE outbox SET parts = ? WHERE id = ?", [json.dumps(parts), int(outbox_id)])
    db.execute("DELETE FROM addresses WHERE kind LIKE 'part:%'")


def _v7(db: sqlite_utils.Database) -> None:
    # The admins' digest finds what went overdue by due time, not by reading every escalation;
    # and whether a digest is planned, not by reading every pending reminder.
    db["escalations"].create_index(["status", "due"])
    db["reminders"].create_index(["kind", "status"])


def _v8(db: sqlite_utils.Database) -> None:
    # A leaver stays in the directory (the record names them) but may act no more.
    db["people"].add_column("active", int, not_null_default=1)


def _v9_unconfirmed_people(db: sqlite_utils.Database) -> None:
    # Someone named in a raise who is not yet in the directory: kept, marked for an admin to confirm.
    db["people"].add_column("confirmed", int, not_null_default=1)


def _v10_tenant_addresses(db: sqlite_utils.Database) -> None:
    # Where a platform reaches an organisation (Teams: the service URL and the bot's account in
    # each Microsoft 365 tenant), learned from what that organisation sent; opaque to the core.
    db["tenant_addresses"].create(
        {"platform": str, "tenant": str, "address": str, "seen_at": str}, pk=("platform", "tenant")
    )


def _v11_slack_installations(db: sqlite_utils.Database) -> None:
    # The bot installed into each agency's Slack workspace through OAuth: one row per workspace (a
    # reinstall replaces it), holding its bot token. Plain columns and SQL, so another engine can
    # hold them the same way.
    db.execute(
        "CREATE TABLE slack_installations ("
        " team_id TEXT PRIMARY KEY, team_name TEXT, enterprise_id TEXT, app_id TEXT,"
        " bot_token TEXT NOT NULL, bot_id TEXT, bot_user_id TEXT, bot_scopes TEXT,"
        " installer TEXT, installed_at TEXT NOT NULL)"
    )
    # OAuth `state` values issued by /slack/install: each used once, before it expires.
    db.execute("CREATE TABLE slack_oauth_states (state TEXT PRIMARY KEY, expires_at TEXT NOT NULL)")


def _v12_people_search(db: sqlite_utils.Database) -> None:
    # Typeahead over the whole partnership's directory without reading every row: a full-text
    # index of each person's name, agency, role and email (words, searched by prefix), kept in
    # step with `people` by triggers.
    db.execute(
        "CREATE VIRTUAL TABLE people_search USING fts5(name, agency, role, email,"
        " content='people', content_rowid='rowid', prefix='2 3', tokenize='unicode61')"
    )
    columns = "name, agency, role, email"
    db.execute(
        f"CREATE TRIGGER people_search_add AFTER INSERT ON people BEGIN"
        f" INSERT INTO people_search (rowid, {columns})"
        f" VALUES (new.rowid, new.name, new.agency, new.role, new.email); END"
    )
    db.execute(
        f"CREATE TRIGGER people_search_drop AFTER DELETE ON people BEGIN"
        f" INSERT INTO people_search (people_search, rowid, {columns})"
        f" VALUES ('delete', old.rowid, old.name, old.agency, old.role, old.email); END"
    )
    db.execute(
        f"CREATE TRIGGER people_search_change AFTER UPDATE OF {columns} ON people BEGIN"
        f" INSERT INTO people_search (people_search, rowid, {columns})"
        f" VALUES ('delete', old.rowid, old.name, old.agency, old.role, old.email);"
        f" INSERT INTO people_search (rowid, {columns})"
        f" VALUES (new.rowid, new.name, new.agency, new.role, new.email); END"
    )
    db.execute("INSERT INTO people_search (people_search) VALUES ('rebuild')")


def _v13_escalation_lists(db: sqlite_utils.Database) -> None:
    # Lists filtered in SQL, by index: who is on each escalation, which agencies it involves (for
    # the agencies' safeguarding leads), and the fields an overdue list or report shows.
    for column, kind in (("category", str), ("urgent", int), ("immediate_risk", int),
                         ("highest_stage", int), ("ended_at", str), ("outcome_kind", str),
                         ("raiser_agency", str), ("counterpart_agency", str)):  # fmt: skip
        db["escalations"].add_column(column, kind)
    db.execute(
        "CREATE TABLE escalation_people (escalation_id TEXT NOT NULL, person_id TEXT NOT NULL,"
        " PRIMARY KEY (escalation_id, person_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX escalation_people_person ON escalation_people (person_id, escalation_id)")
    db.execute(
        "CREATE TABLE escalation_agencies (escalation_id TEXT NOT NULL, agency_key TEXT NOT NULL,"
        " side TEXT NOT NULL, PRIMARY KEY (escalation_id, side)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX escalation_agencies_agency ON escalation_agencies (agency_key, escalation_id)")
    db.execute("CREATE INDEX escalations_number ON escalations (number)")
    db.execute("CREATE INDEX escalations_policy ON escalations (policy_id, number)")
    # What was there before: filled from the rows and their `raised` events.
    db.execute(
        "INSERT OR IGNORE INTO escalation_people SELECT e.id, j.value FROM escalations e,"
        " json_each(e.participants) j"
    )
    db.execute(
        "UPDATE escalations SET"
        " category = (SELECT json_extract(v.data, '$.category') FROM events v"
        "   WHERE v.escalation_id = escalations.id AND v.kind = 'raised'),"
        " urgent = (SELECT coalesce(json_extract(v.data, '$.urgent'), 0) FROM events v"
        "   WHERE v.escalation_id = escalations.id AND v.kind = 'raised'),"
        " immediate_risk = (SELECT coalesce(json_extract(v.data, '$.immediate_risk'), 0) FROM events v"
        "   WHERE v.escalation_id = escalations.id AND v.kind = 'raised'),"
        " highest_stage = stage,"
        " raiser_agency = (SELECT p.agency FROM events v JOIN people p ON p.id = v.actor"
        "   WHERE v.escalation_id = escalations.id AND v.kind = 'raised'),"
        " counterpart_agency = (SELECT p.agency FROM events v"
        "   JOIN people p ON p.id = json_extract(v.data, '$.counterpart')"
        "   WHERE v.escalation_id = escalations.id AND v.kind = 'raised'),"
        " ended_at = (SELECT max(v.at) FROM events v WHERE v.escalation_id = escalations.id"
        "   AND v.kind IN ('resolved', 'withdrawn', 'closed') AND escalations.status != 'open'),"
        " outcome_kind = CASE WHEN status = 'open' THEN NULL ELSE status END"
    )
    rows = db.execute("SELECT id, raiser_agency, counterpart_agency FROM escalations").fetchall()
    db.conn.executemany(
        "INSERT OR IGNORE INTO escalation_agencies VALUES (?, ?, ?)",
        [(e, agency_key(a), side) for e, r, c in rows for side, a in (("raising", r), ("other", c)) if a],
    )


def _v14_report_index(db: sqlite_utils.Database) -> None:
    # The partnership's learning report reads one policy's escalations raised in a period (and
    # their events, by the events index), not every escalation ever raised.
    db.execute("CREATE INDEX IF NOT EXISTS escalations_policy_opened ON escalations(policy_id, opened_at)")


def _v15_person_settings(db: sqlite_utils.Database) -> None:
    # Each person's choices about what comes to them unasked (digests, the monthly report).
    db.execute(
        "CREATE TABLE person_settings (person_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (person_id, key)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX person_settings_key ON person_settings (key, value)")


def _v16_platform_health(db: sqlite_utils.Database) -> None:
    # A platform messages keep failing to: since when, and whether the admins were told, so they
    # are told once, and told when it recovers, across restarts.
    db.execute(
        "CREATE TABLE platform_health (platform TEXT PRIMARY KEY, failing_since TEXT NOT NULL,"
        " alerted_at TEXT, last_error TEXT)"
    )


def _v17_retention(db: sqlite_utils.Database) -> None:
    # Retention: when a closed escalation's content was erased (its row stays, for the report's
    # counts), found among the closed by when they ended; and a log of every erasure and its rule.
    db.execute("ALTER TABLE escalations ADD COLUMN erased_at TEXT")
    db.execute(
        "CREATE INDEX escalations_keeping ON escalations (ended_at)"
        " WHERE erased_at IS NULL AND status != 'open'"
    )
    db.execute(
        "CREATE TABLE erasures (id INTEGER PRIMARY KEY, at TEXT NOT NULL, subject TEXT NOT NULL,"
        " rule TEXT NOT NULL, detail TEXT NOT NULL)"
    )


def _v18_policy_snapshots(db: sqlite_utils.Database) -> None:
    # Each `raised` event carried a 12 KB copy of its policy: now each distinct version is stored
    # once, by the hash of its content, and the event names the hash.
    db.execute("CREATE TABLE policy_snapshots (hash TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID")
    rows = db.execute("SELECT id, data FROM events WHERE kind = 'raised'").fetchall()
    for seq, text in rows:
        data = json.loads(text)
        if isinstance(data.get("policy"), dict):
            db.execute("UPDATE events SET data = ? WHERE id = ?", [_pack_snapshot(db, data), seq])


def _pack_snapshot(db: sqlite_utils.Database, data: dict[str, Any]) -> str:
    """A `raised` event's data as stored: its policy kept once in `policy_snapshots`, named by hash."""
    body = json.dumps(data["policy"], sort_keys=True)
    digest = hashlib.sha256(body.encode()).hexdigest()
    db.execute("INSERT OR IGNORE INTO policy_snapshots (hash, body) VALUES (?, ?)", [digest, body])
    rest = {k: v for k, v in data.items() if k != "policy"}
    return json.dumps({**rest, "policy_hash": digest}, sort_keys=True)


def _v19_lookup_indexes(db: sqlite_utils.Database) -> None:
    # Look-ups made on every raise, escalate, resolve and withdraw (an escalation's pending
    # reminders), on every digest (the admins), and on every erasure (an escalation's messages).
    db.execute("CREATE INDEX IF NOT EXISTS reminders_escalation ON reminders (escalation_id, status)")
    db.execute("CREATE INDEX IF NOT EXISTS people_admins ON people (admin) WHERE admin = 1")
    db.execute(
        "CREATE INDEX IF NOT EXISTS outbox_escalation ON outbox (json_extract(message, '$.escalation_id'))"
    )


def _v20_indexes_at_scale(db: sqlite_utils.Database) -> None:
    # A reminder's status changes twice as it goes (claimed, then sent), and SQLite rewrites its
    # entry in every index that holds the status. Only (status, due_at) needs it now: an
    # escalation's reminders are few, found by escalation alone, and the jobs (digests, reports,
    # erasure) are found among the pending by kind. At a million escalations this halves the
    # pages a sweep writes.
    db.execute("DROP INDEX IF EXISTS reminders_escalation")
    db.execute("CREATE INDEX IF NOT EXISTS reminders_of_escalation ON reminders (escalation_id)")
    db.execute("DROP INDEX IF EXISTS idx_reminders_kind_status")
    db.execute(
        "CREATE INDEX IF NOT EXISTS reminders_pending_kind ON reminders (kind, due_at)"
        " WHERE status = 'pending'"
    )
    # The overdue, in the lists' order (longest overdue first, then newest), by index: a page of
    # them no longer sorts every escalation that fell due at the same time (each working day's
    # 5pm, for hundreds of them in a region).
    db.execute("CREATE INDEX IF NOT EXISTS escalations_overdue ON escalations (status, due, number DESC)")
    db.execute("DROP INDEX IF EXISTS idx_escalations_status_due")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _v1,
    _v2,
    _v3,
    _v4,
    _v5,
    _v6,
    _v7,
    _v8,
    _v9_unconfirmed_people,
    _v10_tenant_addresses,
    _v11_slack_installations,
    _v12_people_search,
    _v13_escalation_lists,
    _v14_report_index,
    _v15_person_settings,
    _v16_platform_health,
    _v17_retention,
    _v18_policy_snapshots,
    _v19_lookup_indexes,
    _v20_indexes_at_scale,
)


@dataclass(frozen=True)
class EscalationRow:
    """The list view of an escalation: enough to list and find, not the record itself."""

    id: str
    policy_id: str
    case_reference: str
    status: str
    stage: int
    due: datetime | None
    opened_at: datetime
    updated_at: datetime
    participants: tuple[str, ...]
    # What an overdue list and a report need without reading each escalation's history.
    category: str = ""
    urgent: bool = False
    immediate_risk: bool = False
    highest_stage: int = 1
    ended_at: datetime | None = None
    outcome_kind: str | None = None
    raiser_agency: str | None = None
    counterpart_agency: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    escalation_id: str
    at: datetime
    kind: str
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ReminderRow:
    id: int
    escalation_id: str
    stage: int
    kind: str
    due_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Question:
    """Something the bot asked a person (e.g. who their line manager is) for an escalation."""

    id: int
    escalation_id: str
    person_id: str
    kind: str
    data: dict[str, Any]
    status: str


@dataclass(frozen=True)
class OutboxItem:
    id: int
    message: Message
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class SlackInstallation:
    """The bot installed in one Slack workspace, with the token to act there."""

    team_id: str
    bot_token: str = field(repr=False)
    team_name: str | None = None
    enterprise_id: str | None = None
    app_id: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: str | None = None
    installer: str | None = None
    installed_at: datetime | None = None


@dataclass(frozen=True)
class PlatformTrouble:
    """Messages to `platform` have failed since `failing_since`, with no success since."""

    platform: str
    failing_since: datetime
    alerted_at: datetime | None = None
    last_error: str = ""


@dataclass(frozen=True)
class InboxItem:
    id: int
    platform: str
    event_id: str
    body: str
    attempts: int


class Storage:
    """The bot's database. Open with `Storage.open(url)`; close when done."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._depth = 0
        # Policy snapshots by hash: a few distinct ones serve every escalation (treat as read-only).
        self._snapshots: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(cls, url: str = DEFAULT_DATABASE_URL, *, create: bool = True) -> Storage:
        """Open (creating if `create`, and migrating as needed) the database at `url`."""
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
        store = cls(sqlite_utils.Database(conn))
        store.migrate()
        return store

    def close(self) -> None:
        self.db.conn.close()

    # -- schema ------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply any migrations newer than the database's schema version, each in a transaction."""
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise StorageError(
                f"database schema version {current} is newer than this bot knows "
                f"({len(MIGRATIONS)}); upgrade the bot"
            )
        for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction():
                migration(self.db)
                self.db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE, so concurrent bots queue); nests safely."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- people ------------------------------------------------------------------------------

    def upsert_people(self, people: Iterable[Person], *, with_roles: bool = True) -> int:
        """Add or update people by id; returns how many. With `with_roles`, each person's roles
        become what the directory says they hold (roles someone was named for in chat are kept);
        without, their roles are left as they are (linking a platform account, say)."""
        people = list(people)
        rows = []
        for p in people:
            row = {
                **asdict(p),
                "admin": int(p.admin),
                "admin_policies": ";".join(p.admin_policies),
                "confirmed": int(p.confirmed),
            }
            del row["roles"]
            del row["active"]  # an import never brings a leaver back: only `reactivate` would
            rows.append(row)
        with self.transaction():
            self.db["people"].upsert_all(rows, pk="id")
            for p in people if with_roles else ():
                self.db.execute(
                    "DELETE FROM role_holders WHERE person_id = ? AND source = 'directory'", [p.id]
                )
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO role_holders (role, agency_key, person_id, source)"
                    " VALUES (?, ?, ?, 'directory')",
                    [(r.value, agency_key(p.agency), p.id) for r in p.roles],
                )
        return len(rows)

    def person(self, person_id: str) -> Person | None:
        found = self._people("p.id = ?", [person_id])
        return found[0] if found else None

    def people(self) -> list[Person]:
        return self._people()

    def deactivate(self, person_id: str) -> bool:
        """A leaver: kept for the record, but no longer found by their accounts. True if changed."""
        with self.transaction():
            cursor = self.db.execute("UPDATE people SET active = 0 WHERE id = ? AND active = 1", [person_id])
        return cursor.rowcount == 1

    def person_by(
        self,
        *,
        slack_id: str | None = None,
        email: str | None = None,
        teams_id: str | None = None,
        active_only: bool = True,
    ) -> Person | None:
        """Find a person by a platform id or email (case-insensitive); a leaver only when asked."""
        for column, value in (("slack_id", slack_id), ("teams_id", teams_id), ("email", email)):
            if value:
                active = " AND p.active = 1" if active_only else ""
                found = self._people(f"lower(p.{column}) = lower(?){active}", [value])
                if found:
                    return found[0]
        return None

    def search_people(self, terms: list[str], *, limit: int = 200) -> list[Person]:
        """Active people with a word in their name, agency, role or email starting with each term
        (letters and digits; lower case), through the full-text index."""
        words = [w for t in terms for w in re.findall(r"\w+", t)]
        if not words:
            return []
        query = " ".join(f'"{w}"*' for w in words)
        matches = f"SELECT s.rowid FROM people_search s WHERE people_search MATCH ? LIMIT {int(limit)}"
        return self._people(f"p.active = 1 AND p.rowid IN ({matches})", [query])

    def role_holders(self, role: Role, agency: str) -> list[Person]:
        """Who holds `role` in `agency`, by the directory or as named in chat."""
        return self._people(
            "p.id IN (SELECT person_id FROM role_holders WHERE role = ? AND agency_key = ?)",
            [role.value, agency_key(agency)],
        )

    def name_role_holder(self, role: Role, agency: str, person_id: str) -> None:
        """Remember that `person_id` holds `role` for `agency`, as someone on an escalation said."""
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO role_holders (role, agency_key, person_id, source)"
                " VALUES (?, ?, ?, 'named')",
                [role.value, agency_key(agency), person_id],
            )

    def role_assignments(self) -> list[tuple[str, str, str, str]]:
        """Every (role, agency, person id, source) the bot knows, for an admin to review."""
        return [
            tuple(row)
            for row in self.db.execute(
                "SELECT r.role, COALESCE(p.agency, r.agency_key), r.person_id, r.source FROM role_holders r"
                " LEFT JOIN people p ON p.id = r.person_id ORDER BY r.role, r.agency_key, r.person_id"
            ).fetchall()
        ]

    def remove_role(self, person_id: str, role: Role) -> int:
        """Stop `person_id` holding `role` anywhere, however it was recorded; returns how many went."""
        with self.transaction():
            cursor = self.db.execute(
                "DELETE FROM role_holders WHERE person_id = ? AND role = ?", [person_id, role.value]
            )
            return cursor.rowcount

    def _people(self, where: str = "1", args: list[Any] | None = None) -> list[Person]:
        """People matching `where` (on `people p`), each with their roles, by name."""
        cursor = self.db.execute(
            "SELECT p.*, (SELECT group_concat(DISTINCT r.role) FROM role_holders r"
            f" WHERE r.person_id = p.id) AS roles FROM people p WHERE {where} ORDER BY p.name, p.id",
            args or [],
        )
        columns = [d[0] for d in cursor.description]
        return [_person(dict(zip(columns, row, strict=True))) for row in cursor.fetchall()]

    def set_manager(self, person_id: str, manager_id: str) -> None:
        with self.transaction():
            self.db["people"].update(person_id, {"manager_id": manager_id})

    def admins(self, policy_id: str | None = None) -> list[Person]:
        """Partnership admins: all of them, or those named for `policy_id`."""
        everyone = self._people("p.admin = 1")
        return [p for p in everyone if policy_id is None or p.is_admin_for(policy_id)]

    # -- escalations and their events ----------------------------------------------------------

    def next_escalation_number(self) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM escalations").fetchone()
        return int(row[0])

    def save_escalation(self, row: EscalationRow, number: int | None = None) -> None:
        """Insert or update the list view of an escalation."""
        data = {
            "id": row.id,
            "policy_id": row.policy_id,
            "case_reference": row.case_reference,
            "status": row.status,
            "stage": row.stage,
            "due": _iso(row.due) if row.due else None,
            "opened_at": _iso(row.opened_at),
            "updated_at": _iso(row.updated_at),
            "participants": json.dumps(sorted(row.participants)),
            "category": row.category,
            "urgent": int(row.urgent),
            "immediate_risk": int(row.immediate_risk),
            "highest_stage": row.highest_stage,
            "ended_at": _iso(row.ended_at) if row.ended_at else None,
            "outcome_kind": row.outcome_kind,
            "raiser_agency": row.raiser_agency,
            "counterpart_agency": row.counterpart_agency,
        }
        with self.transaction():
            if number is not None:
                # Plain SQL on every raise: sqlite-utils re-reads the schema on each table call.
                columns, marks = ", ".join([*data, "number"]), ", ".join("?" * (len(data) + 1))
                self.db.execute(
                    f"INSERT INTO escalations ({columns}) VALUES ({marks})", [*data.values(), number]
                )
            else:
                # Not the policy or when it was raised, which never change: SQLite rewrites the
                # index entries of every column an UPDATE sets, changed or not.
                columns = [k for k in data if k not in ("id", "policy_id", "opened_at")]
                self.db.execute(
                    f"UPDATE escalations SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                    [*(data[c] for c in columns), row.id],
                )
            self._index_escalation(row)

    def _index_escalation(self, row: EscalationRow) -> None:
        """Who is on it and which agencies it involves, as the lists look them up."""
        conn = self.db.conn
        known = {r[0] for r in conn.execute(
            "SELECT person_id FROM escalation_people WHERE escalation_id = ?", [row.id]
        )}  # fmt: skip
        conn.executemany(
            "INSERT INTO escalation_people VALUES (?, ?)",
            [(row.id, p) for p in set(row.participants) - known],
        )
        gone = known - set(row.participants)
        if gone:
            conn.executemany(
                "DELETE FROM escalation_people WHERE escalation_id = ? AND person_id = ?",
                [(row.id, p) for p in gone],
            )
        held = dict(conn.execute(
            "SELECT side, agency_key FROM escalation_agencies WHERE escalation_id = ?", [row.id]
        ).fetchall())  # fmt: skip
        for side, agency in (("raising", row.raiser_agency), ("other", row.counterpart_agency)):
            if agency and held.get(side) != agency_key(agency):  # written only when it changes
                conn.execute(
                    "INSERT OR REPLACE INTO escalation_agencies VALUES (?, ?, ?)",
                    [row.id, agency_key(agency), side],
                )

    def escalation_row(self, escalation_id: str) -> EscalationRow | None:
        rows = list(self.db["escalations"].rows_where("id = ?", [escalation_id]))
        return _escalation_row(rows[0]) if rows else None

    def open_escalations_of(self, person_id: str) -> list[EscalationRow]:
        """Open escalations `person_id` is on: by the status index, then their participants."""
        rows = self.db.execute(
            "SELECT * FROM escalations WHERE status = 'open' AND EXISTS "
            "(SELECT 1 FROM json_each(escalations.participants) WHERE value = ?) ORDER BY number",
            [person_id],
        )
        columns = [c[0] for c in rows.description]
        return [_escalation_row(dict(zip(columns, r, strict=True))) for r in rows.fetchall()]

    def list_escalations(
        self, scope: Any, filters: Any, *, now: datetime, limit: int = 50, offset: int = 0
    ) -> tuple[list[EscalationRow], int]:
        """A page of the escalations `scope` may see that match `filters` (bot.listing), overdue
        first (longest overdue first), then newest first; and how many match in all."""
        condition, args, everything = self._list_condition(scope, filters, now)
        total = self.db.execute(f"SELECT COUNT(*) FROM escalations e WHERE {condition}", args).fetchone()[0]
        late = "e.status = 'open' AND e.due < ?"
        if not everything or filters.agency:
            # A person's or an agency's escalations: few, found by index, so sorted whole.
            order = f"({late} AND e.due IS NOT NULL) DESC, CASE WHEN {late} THEN e.due END, e.number DESC"
            rows = self._escalations(
                f"{condition} ORDER BY {order} LIMIT ? OFFSET ?",
                [*args, _iso(now), _iso(now), int(limit), int(offset)],
            )
            return rows, int(total)
        # Everything (an admin): two reads, each in the order of an index, rather than one sort of
        # a million rows: the overdue by due time (status, due), then the rest newest first.
        late_count = self.db.execute(
            f"SELECT COUNT(*) FROM escalations e WHERE {condition} AND {late}", [*args, _iso(now)]
        ).fetchone()[0]
        rows = self._escalations(
            f"{condition} AND {late} ORDER BY e.due, e.number DESC LIMIT ? OFFSET ?",
            [*args, _iso(now), int(limit), int(offset)],
        )
        if len(rows) < limit:
            rows += self._escalations(
                f"{condition} AND NOT ({late} AND e.due IS NOT NULL) ORDER BY e.number DESC LIMIT ? OFFSET ?",
                [*args, _iso(now), int(limit) - len(rows), max(int(offset) - late_count, 0)],
            )
        return rows, int(total)

    def list_page(
        self, scope: Any, filters: Any, *, now: datetime, limit: int, after: EscalationRow | None = None
    ) -> list[EscalationRow]:
        """Up to `limit` of what `list_escalations` lists, in its order, from just after the row
        `after` (None: from the first), uncounted: a long list read page by page, each page found
        by index where the last one ended, so the last page of a million costs what the first did."""
        condition, args, _ = self._list_condition(scope, filters, now)
        late = "e.status = 'open' AND e.due < ?"
        number_of = "(SELECT number FROM escalations WHERE id = ?)"
        rows: list[EscalationRow] = []
        after_late = (
            after is not None and after.status == "open" and after.due is not None and after.due < now
        )
        if after is None or after_late:
            where, more = f"{condition} AND {late}", [*args, _iso(now)]
            if after is not None and after.due is not None:
                where += f" AND (e.due > ? OR (e.due = ? AND e.number < {number_of}))"
                more += [_iso(after.due), _iso(after.due), after.id]
            rows = self._escalations(f"{where} ORDER BY e.due, e.number DESC LIMIT ?", [*more, int(limit)])
        if len(rows) >= limit or filters.overdue:
            return rows
        where, more = f"{condition} AND NOT ({late} AND e.due IS NOT NULL)", [*args, _iso(now)]
        if after is not None and not after_late:
            where += f" AND e.number < {number_of}"
            more.append(after.id)
        return rows + self._escalations(
            f"{where} ORDER BY e.number DESC LIMIT ?", [*more, int(limit) - len(rows)]
        )

    def _list_condition(self, scope: Any, filters: Any, now: datetime) -> tuple[str, list[Any], bool]:
        """The SQL condition (on `escalations e`) for what `scope` may see and `filters` keep, its
        arguments, and whether the scope is everything."""
        seen, args = [], []
        if scope.everything or (scope.admin and not scope.admin_policies):
            seen.append("1")
        else:
            if scope.person_id:
                seen.append("e.id IN (SELECT escalation_id FROM escalation_people WHERE person_id = ?)")
                args.append(scope.person_id)
            if scope.admin:
                seen.append(f"e.policy_id IN ({', '.join('?' * len(scope.admin_policies))})")
                args += list(scope.admin_policies)
            if scope.lead_agencies:
                marks = ", ".join("?" * len(scope.lead_agencies))
                seen.append(
                    f"e.id IN (SELECT escalation_id FROM escalation_agencies WHERE agency_key IN ({marks}))"
                )
                args += [agency_key(a) for a in scope.lead_agencies]
        where = [f"({' OR '.join(seen) or '0'})"]
        if filters.policy:
            where.append("e.policy_id = ?")
            args.append(filters.policy)
        if filters.agency:
            where.append("e.id IN (SELECT escalation_id FROM escalation_agencies WHERE agency_key = ?)")
            args.append(agency_key(filters.agency))
        if filters.status:
            where.append("e.status = ?")
            args.append(filters.status)
        if filters.overdue:
            where.append("e.status = 'open' AND e.due < ?")
            args.append(_iso(now))
        if filters.since:
            where.append("e.opened_at >= ?")
            args.append(_iso(datetime.combine(filters.since, datetime.min.time(), tzinfo=LONDON)))
        return " AND ".join(where), args, seen == ["1"]

    def _escalations(self, where: str, args: list[Any]) -> list[EscalationRow]:
        cursor = self.db.execute(f"SELECT e.* FROM escalations e WHERE {where}", args)
        columns = [c[0] for c in cursor.description]
        return [_escalation_row(dict(zip(columns, r, strict=True))) for r in cursor.fetchall()]

    def lead_agencies(self, person_id: str, roles: Iterable[Role]) -> tuple[str, ...]:
        """The agencies (their keys) for which `person_id` holds any of `roles`."""
        values = [r.value for r in roles]
        rows = self.db.execute(
            f"SELECT DISTINCT agency_key FROM role_holders WHERE person_id = ? AND role IN "
            f"({', '.join('?' * len(values))})",
            [person_id, *values],
        ).fetchall()
        return tuple(r[0] for r in rows)

    def overdue_rows(
        self,
        *,
        due_after: datetime | None,
        due_until: datetime,
        policy_ids: Iterable[str] | None = None,
        limit: int = 30,
    ) -> list[EscalationRow]:
        """Open escalations whose due time fell in (due_after, due_until], longest overdue first;
        only those under `policy_ids` when given."""
        where, args = "status = 'open' AND due <= ?", [_iso(due_until)]
        if due_after is not None:
            where += " AND due > ?"
            args.append(_iso(due_after))
        if policy_ids is not None:
            ids = list(policy_ids)
            where += f" AND policy_id IN ({', '.join('?' * len(ids)) or 'NULL'})"
            args += ids
        rows = self.db.execute(
            f"SELECT * FROM escalations WHERE {where} ORDER BY due LIMIT ?", [*args, limit]
        )
        columns = [c[0] for c in rows.description]
        return [_escalation_row(dict(zip(columns, r, strict=True))) for r in rows.fetchall()]

    def setting(self, person_id: str, key: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM person_settings WHERE person_id = ? AND key = ?", [person_id, key]
        ).fetchone()
        return row[0] if row else None

    def set_setting(self, person_id: str, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO person_settings (person_id, key, value) VALUES (?, ?, ?)",
                [person_id, key, value],
            )

    def people_with_setting(self, key: str, value: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT person_id FROM person_settings WHERE key = ? AND value = ?", [key, value]
        )]  # fmt: skip

    def overdue_in_agencies(
        self, agencies: Iterable[str], *, due_after: datetime | None, due_until: datetime, limit: int = 30
    ) -> tuple[list[EscalationRow], int]:
        """Open escalations involving any of `agencies` that fell due in (due_after, due_until],
        longest overdue first; and how many in all."""
        keys = [agency_key(a) for a in agencies]
        where = (
            f"e.id IN (SELECT escalation_id FROM escalation_agencies WHERE agency_key IN "
            f"({', '.join('?' * len(keys)) or 'NULL'})) AND e.status = 'open' AND e.due <= ?"
        )
        args: list[Any] = [*keys, _iso(due_until)]
        if due_after is not None:
            where += " AND e.due > ?"
            args.append(_iso(due_after))
        total = self.db.execute(f"SELECT COUNT(*) FROM escalations e WHERE {where}", args).fetchone()[0]
        return self._escalations(f"{where} ORDER BY e.due LIMIT ?", [*args, limit]), int(total)

    def raised_counts(self, starts: datetime, ends: datetime) -> dict[str, int]:
        """How many differences each policy had raised in [starts, ends)."""
        rows = self.db.execute(
            "SELECT policy_id, COUNT(*) FROM escalations WHERE opened_at >= ? AND opened_at < ?"
            " GROUP BY policy_id",
            [_iso(starts), _iso(ends)],
        )
        return dict(rows.fetchall())

    def overdue_counts(self, *, due_after: datetime | None, due_until: datetime) -> dict[str, int]:
        """How many open escalations per policy fell due in (due_after, due_until]."""
        where, args = "status = 'open' AND due <= ?", [_iso(due_until)]
        if due_after is not None:
            where += " AND due > ?"
            args.append(_iso(due_after))
        rows = self.db.execute(
            f"SELECT policy_id, COUNT(*) FROM escalations WHERE {where} GROUP BY policy_id", args
        )
        return dict(rows.fetchall())

    def has_pending(self, kind: str) -> bool:
        """Whether a reminder of this kind is planned (e.g. the admins' next digest)."""
        row = self.db.execute(
            "SELECT 1 FROM reminders WHERE kind = ? AND status = 'pending' LIMIT 1", [kind]
        ).fetchone()
        return row is not None

    def append_event(
        self, escalation_id: str, *, at: datetime, kind: str, actor: str, data: dict[str, Any]
    ) -> int:
        """Append one event to an escalation's history (never updated or deleted)."""
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO events (escalation_id, at, kind, actor, data) VALUES (?, ?, ?, ?, ?)",
                [escalation_id, _iso(at), kind, actor, self._pack(kind, data)],
            )
            return int(cursor.lastrowid)

    def _pack(self, kind: str, data: dict[str, Any]) -> str:
        if kind == "raised" and isinstance(data.get("policy"), dict):
            return _pack_snapshot(self.db, data)
        return json.dumps(data, sort_keys=True)

    def _unpack(self, text: str) -> dict[str, Any]:
        data = json.loads(text)
        digest = data.get("policy_hash")
        if digest and "policy" not in data:
            if digest not in self._snapshots:
                row = self.db.execute("SELECT body FROM policy_snapshots WHERE hash = ?", [digest]).fetchone()
                self._snapshots[digest] = json.loads(row[0]) if row else {}
            data["policy"] = self._snapshots[digest]
        return data

    def events(self, escalation_id: str) -> list[StoredEvent]:
        rows = self.db.execute(
            "SELECT id, escalation_id, at, kind, actor, data FROM events WHERE escalation_id = ? ORDER BY id",
            [escalation_id],
        ).fetchall()
        return [
            StoredEvent(seq, esc, datetime.fromisoformat(at), kind, actor, self._unpack(data))
            for seq, esc, at, kind, actor, data in rows
        ]

    # -- reminders -----------------------------------------------------------------------------

    def replace_reminders(
        self, escalation_id: str, planned: Iterable[tuple[int, str, datetime, dict[str, Any]]]
    ) -> None:
        """Cancel an escalation's pending reminders and plan these (stage, kind, due, data)."""
        with self.transaction():
            self.db.execute(
                "UPDATE reminders SET status = 'cancelled' WHERE escalation_id = ? AND status = 'pending'",
                [escalation_id],
            )
            self.add_reminders(escalation_id, planned)

    def add_reminders(
        self, escalation_id: str, planned: Iterable[tuple[int, str, datetime, dict[str, Any]]]
    ) -> None:
        rows = [
            (escalation_id, stage, kind, _iso(due), json.dumps(data, sort_keys=True))
            for stage, kind, due, data in planned
        ]
        if rows:
            with self.transaction():
                self.db.conn.executemany(
                    "INSERT INTO reminders (escalation_id, stage, kind, due_at, status, data)"
                    " VALUES (?, ?, ?, ?, 'pending', ?)",
                    rows,
                )

    def claim_due_reminders(self, now: datetime, limit: int = 100) -> list[ReminderRow]:
        """Atomically take pending reminders due by `now`: no other copy of the bot can take them."""
        cursor = self.db.execute(
            "UPDATE reminders SET status = 'claimed', done_at = ? WHERE id IN ("
            " SELECT id FROM reminders WHERE status = 'pending' AND due_at <= ?"
            " ORDER BY due_at, id LIMIT ?) RETURNING id, escalation_id, stage, kind, due_at, data",
            [_iso(now), _iso(now), limit],
        )
        rows = [_reminder(*r) for r in cursor.fetchall()]
        return sorted(rows, key=lambda r: (r.due_at, r.id))

    def finish_reminder(self, reminder_id: int, status: str) -> None:
        # Plain SQL on the sweep's hot path: sqlite-utils re-reads the schema on each table call.
        with self.transaction():
            self.db.execute("UPDATE reminders SET status = ? WHERE id = ?", [status, reminder_id])

    def pending_reminders(self, escalation_id: str | None = None) -> list[ReminderRow]:
        where, args = "status = 'pending'", []
        if escalation_id:
            where += " AND escalation_id = ?"
            args.append(escalation_id)
        rows = self.db.execute(
            f"SELECT id, escalation_id, stage, kind, due_at, data FROM reminders WHERE {where}", args
        ).fetchall()
        # Sorted here: an ORDER BY leads SQLite to read every pending reminder in (status, due_at)
        # order rather than an escalation's few by its index.
        return sorted((_reminder(*r) for r in rows), key=lambda r: (r.due_at, r.id))

    def next_reminder_at(self) -> datetime | None:
        row = self.db.execute("SELECT MIN(due_at) FROM reminders WHERE status = 'pending'").fetchone()
        return _time(row[0])

    # -- outbox --------------------------------------------------------------------------------

    def enqueue(self, messages: Iterable[Message], *, now: datetime) -> None:
        """Persist outbound messages; they leave only when an adapter delivers them."""
        at = _iso(now)
        rows = [(at, json.dumps(m.to_dict(), sort_keys=True), "pending", 0, at) for m in messages]
        if rows:
            with self.transaction():
                self.db.conn.executemany(
                    "INSERT INTO outbox (created_at, message, status, attempts, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )

    def claim_outbox(self, now: datetime, limit: int = 50, lease_seconds: int = 120) -> list[OutboxItem]:
        """Take messages ready to send; a crashed sender's lease runs out so nothing is lost."""
        lease_until = datetime.fromtimestamp(now.timestamp() + lease_seconds, UTC)
        cursor = self.db.execute(
            "UPDATE outbox SET status = 'sending', next_attempt_at = ?, attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'sending')"
            " AND next_attempt_at <= ? ORDER BY id LIMIT ?) RETURNING id, message, attempts, created_at",
            [_iso(lease_until), _iso(now), limit],
        )
        items = [
            OutboxItem(r[0], Message.from_dict(json.loads(r[1])), r[2], datetime.fromisoformat(r[3]))
            for r in cursor
        ]
        return sorted(items, key=lambda i: i.id)

    def outbox_delivered(self, item_id: int, *, now: datetime) -> None:
        with self.transaction():
            self.db["outbox"].update(item_id, {"status": "delivered", "delivered_at": _iso(now)})

    def outbox_retry(self, item_id: int, *, at: datetime, error: str) -> None:
        with self.transaction():
            self.db["outbox"].update(
                item_id,
                {"status": "pending", "next_attempt_at": _iso(at), "last_error": error[:200]},
            )

    def outbox_failed(self, item_id: int, *, error: str) -> None:
        with self.transaction():
            self.db["outbox"].update(item_id, {"status": "failed", "last_error": error[:200]})

    def outbox_message(self, item_id: int) -> Message | None:
        """The message queued under this outbox id, whatever its state."""
        row = self.db.execute("SELECT message FROM outbox WHERE id = ?", [item_id]).fetchone()
        return Message.from_dict(json.loads(row[0])) if row else None

    def outbox_parts(self, item_id: int) -> dict[int, str]:
        """Where each part of a queued message went, for the parts that have gone."""
        row = self.db.execute("SELECT parts FROM outbox WHERE id = ?", [item_id]).fetchone()
        return {int(k): v for k, v in json.loads(row[0] or "{}").items()} if row else {}

    def outbox_part_sent(self, item_id: int, part: int, ref: str) -> None:
        """Record at once that part `part` reached the platform, at `ref`."""
        self.db.execute(
            "UPDATE outbox SET parts = json_set(coalesce(parts, '{}'), ?, ?) WHERE id = ?",
            [f'$."{part}"', ref, item_id],
        )

    def next_outbox_attempt(self) -> datetime | None:
        """When the next queued message is ready to (re)try, for a loop that sleeps until then."""
        row = self.db.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        return _time(row[0])

    def outbox_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    # -- platform addresses ----------------------------------------------------------------------

    def set_address(self, person_id: str, platform: str, address: str, kind: str = "dm") -> None:
        """Remember how to reach a person on a platform (opaque to the core)."""
        with self.transaction():
            self.db["addresses"].upsert(
                {"person_id": person_id, "platform": platform, "kind": kind, "address": address},
                pk=("person_id", "platform", "kind"),
            )

    def find_address(self, platform: str, address: str, kind_prefix: str = "") -> tuple[str, str] | None:
        """Whose address this is, as (person_id, kind): e.g. which case thread a reply is in."""
        rows = self.db.execute(
            "SELECT person_id, kind FROM addresses WHERE platform = ? AND address = ? AND kind LIKE ?",
            [platform, address, kind_prefix + "%"],
        ).fetchall()
        return (rows[0][0], rows[0][1]) if rows else None

    # -- tenant addresses: how a platform reaches each organisation (many Teams tenants) --------

    def set_tenant_address(self, platform: str, tenant: str, address: str, *, now: datetime) -> None:
        """Remember how to reach an organisation on a platform (opaque to the core)."""
        with self.transaction():
            self.db["tenant_addresses"].upsert(
                {"platform": platform, "tenant": tenant, "address": address, "seen_at": _iso(now)},
                pk=("platform", "tenant"),
            )

    def tenant_address(self, platform: str, tenant: str) -> str | None:
        """How this organisation was last reached on the platform, if it ever was."""
        row = self.db.execute(
            "SELECT address FROM tenant_addresses WHERE platform = ? AND tenant = ?", [platform, tenant]
        ).fetchone()
        return row[0] if row else None

    def addresses(self, platform: str, kind: str) -> list[tuple[str, str]]:
        """Every stored address of this kind on a platform, as (person_id, address)."""
        rows = self.db.execute(
            "SELECT person_id, address FROM addresses WHERE platform = ? AND kind = ?", [platform, kind]
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    # -- inbox: events acknowledged to a platform, waiting to be handled -------------------------

    def inbox_keep(self, platform: str, event_id: str, body: str, *, now: datetime) -> bool:
        """Store an event before the platform is told it arrived; False if it is already here or
        was handled (a platform's retry)."""
        with self.transaction():
            seen = self.db.execute(
                "SELECT 1 FROM seen_events WHERE platform = ? AND event_id = ?", [platform, event_id]
            ).fetchone()
            if seen:
                return False
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO inbox (platform, event_id, body, received_at, attempts, status)"
                " VALUES (?, ?, ?, ?, 0, 'pending')",
                [platform, event_id, body, _iso(now)],
            )
            return cursor.rowcount == 1

    def inbox_pending(self, platform: str, limit: int = 50) -> list[InboxItem]:
        """The oldest events not yet handled, in the order they arrived."""
        rows = self.db.execute(
            "SELECT id, event_id, body, attempts FROM inbox WHERE status = 'pending' AND platform = ?"
            " ORDER BY id LIMIT ?",
            [platform, limit],
        ).fetchall()
        return [InboxItem(r[0], platform, r[1], r[2], r[3]) for r in rows]

    def inbox_handled(self, item: InboxItem, *, now: datetime) -> None:
        """The event was handled: forget what it said, remember only that it was seen."""
        with self.transaction():
            self.db.execute("DELETE FROM inbox WHERE id = ?", [item.id])
            self.db.execute(
                "INSERT OR IGNORE INTO seen_events (platform, event_id, seen_at) VALUES (?, ?, ?)",
                [item.platform, item.event_id, _iso(now)],
            )

    def inbox_failed_attempt(self, item: InboxItem, *, give_up_after: int) -> bool:
        """Count a failed try; after `give_up_after` tries the event is set aside (True), so one
        event the bot cannot handle does not hold up the rest."""
        attempts = item.attempts + 1
        status = "failed" if attempts >= give_up_after else "pending"
        with self.transaction():
            self.db.execute(
                "UPDATE inbox SET attempts = ?, status = ? WHERE id = ?", [attempts, status, item.id]
            )
        return status == "failed"

    def inbox_counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM inbox GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    def first_sight(self, platform: str, event_id: str, *, now: datetime) -> bool:
        """True the first time an event id is seen; False for a retry of one already handled."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO seen_events (platform, event_id, seen_at) VALUES (?, ?, ?)",
            [platform, event_id, _iso(now)],
        )
        return cursor.rowcount == 1

    def address(self, person_id: str, platform: str, kind: str = "dm") -> str | None:
        rows = list(
            self.db["addresses"].rows_where(
                "person_id = ? AND platform = ? AND kind = ?", [person_id, platform, kind]
            )
        )
        return rows[0]["address"] if rows else None

    # -- Slack installations and OAuth states (one workspace per agency) -------------------------

    def save_slack_installation(self, installation: SlackInstallation, *, now: datetime) -> None:
        """Keep the bot's installation in a workspace, replacing an earlier one there."""
        row = {k: v for k, v in asdict(installation).items() if k != "installed_at"}
        with self.transaction():
            self.db.execute("DELETE FROM slack_installations WHERE team_id = ?", [installation.team_id])
            self.db.execute(
                f"INSERT INTO slack_installations ({', '.join(row)}, installed_at)"
                f" VALUES ({', '.join('?' for _ in row)}, ?)",
                [*row.values(), _iso(now)],
            )

    def slack_installation(self, team_id: str) -> SlackInstallation | None:
        rows = self.db.execute(
            f"SELECT {_INSTALLATION_COLUMNS} FROM slack_installations WHERE team_id = ?", [team_id]
        ).fetchall()
        return _installation(rows[0]) if rows else None

    def slack_installations(self) -> list[SlackInstallation]:
        """Every workspace the bot is installed in, first installed first."""
        rows = self.db.execute(
            f"SELECT {_INSTALLATION_COLUMNS} FROM slack_installations ORDER BY installed_at, team_id"
        ).fetchall()
        return [_installation(r) for r in rows]

    def delete_slack_installation(self, team_id: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM slack_installations WHERE team_id = ?", [team_id])

    def add_oauth_state(self, state: str, *, expires_at: datetime) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)", [state, _iso(expires_at)]
            )

    def consume_oauth_state(self, state: str, *, now: datetime) -> bool:
        """True once for a state issued and not yet expired; it cannot be used again. Expired
        states are cleared on the way."""
        with self.transaction():
            self.db.execute("DELETE FROM slack_oauth_states WHERE expires_at <= ?", [_iso(now)])
            cursor = self.db.execute("DELETE FROM slack_oauth_states WHERE state = ?", [state])
            return cursor.rowcount == 1

    # -- open questions (e.g. "who is your line manager?") --------------------------------------

    def add_question(self, escalation_id: str, person_id: str, kind: str, data: dict[str, Any]) -> int:
        with self.transaction():
            table = self.db["questions"]
            table.insert(
                {
                    "escalation_id": escalation_id,
                    "person_id": person_id,
                    "kind": kind,
                    "data": json.dumps(data, sort_keys=True),
                    "status": "open",
                }
            )
            return int(table.last_pk)

    def question(self, question_id: int) -> Question | None:
        rows = list(self.db["questions"].rows_where("id = ?", [question_id]))
        return _question(rows[0]) if rows else None

    def open_questions(
        self,
        *,
        person_id: str | None = None,
        escalation_id: str | None = None,
        kind: str | None = None,
        role: str | None = None,
        agency: str | None = None,
    ) -> list[Question]:
        """Open questions, oldest first: those asked of `person_id`, about `escalation_id`, of
        `kind`, or waiting on `role` in `agency` (questions are closed when their stage ends, so the
        open ones are few)."""
        where, args = ["status = 'open'"], []
        for column, value in (("person_id", person_id), ("escalation_id", escalation_id), ("kind", kind)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        for key, value in (("role", role), ("agency", agency)):
            if value:
                where.append(f"json_extract(data, '$.{key}') = ?")
                args.append(value)
        rows = self.db["questions"].rows_where(" AND ".join(where), args, order_by="id")
        return [_question(r) for r in rows]

    def close_question(self, question_id: int) -> None:
        with self.transaction():
            self.db["questions"].update(question_id, {"status": "answered"})

    def close_questions(self, escalation_id: str) -> None:
        """Close an escalation's open questions: its stage has moved on, or it has ended."""
        with self.transaction():
            self.db.execute(
                "UPDATE questions SET status = 'closed' WHERE escalation_id = ? AND status = 'open'",
                [escalation_id],
            )

    # -- the partnership's learning report ------------------------------------------------------

    def events_of_escalations_opened(
        self, policy_id: str, *, opened_from: datetime, opened_before: datetime
    ) -> dict[str, list[StoredEvent]]:
        """Each escalation of `policy_id` opened in [opened_from, opened_before), with its history in
        order; found by the (policy_id, opened_at) index, their events by the events index."""
        rows = self.db.execute(
            "SELECT e.id, e.escalation_id, e.at, e.kind, e.actor, e.data FROM escalations x"
            " JOIN events e ON e.escalation_id = x.id"
            " WHERE x.policy_id = ? AND x.opened_at >= ? AND x.opened_at < ?"
            " ORDER BY x.opened_at, x.number, e.id",
            [policy_id, _iso(opened_from), _iso(opened_before)],
        )
        histories: dict[str, list[StoredEvent]] = {}
        for seq, esc_id, at, kind, actor, data in rows.fetchall():
            histories.setdefault(esc_id, []).append(
                StoredEvent(seq, esc_id, datetime.fromisoformat(at), kind, actor, self._unpack(data))
            )
        return histories

    # -- what the admin watches: metrics and platforms in trouble ---------------------------------

    def outbox_waiting_since(self) -> datetime | None:
        """When the oldest message still waiting to be delivered was queued."""
        row = self.db.execute(
            "SELECT MIN(created_at) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        return _time(row[0])

    def outbox_waiting(self) -> list[Message]:
        """Every message still waiting to be delivered, oldest first."""
        rows = self.db.execute(
            "SELECT message FROM outbox WHERE status IN ('pending', 'sending') ORDER BY id"
        ).fetchall()
        return [Message.from_dict(json.loads(r[0])) for r in rows]

    def reminders_due(self, now: datetime) -> int:
        """How many reminders are due by `now` and not yet sent."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM reminders WHERE status = 'pending' AND due_at <= ?", [_iso(now)]
        ).fetchone()
        return int(row[0])

    def platform_troubles(self) -> dict[str, PlatformTrouble]:
        rows = self.db.execute(
            "SELECT platform, failing_since, alerted_at, last_error FROM platform_health"
        ).fetchall()
        return {
            r[0]: PlatformTrouble(r[0], datetime.fromisoformat(r[1]), _time(r[2]), r[3] or "") for r in rows
        }

    def save_platform_trouble(self, trouble: PlatformTrouble) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO platform_health (platform, failing_since, alerted_at, last_error)"
                " VALUES (?, ?, ?, ?)",
                [
                    trouble.platform,
                    _iso(trouble.failing_since),
                    _iso(trouble.alerted_at) if trouble.alerted_at else None,
                    trouble.last_error[:200],
                ],
            )

    def clear_platform_trouble(self, platform: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM platform_health WHERE platform = ?", [platform])

    # -- retention and erasure (bot/retention.py, bot/subject_access.py decide; these apply) ----

    def closed_unerased(
        self, *, ended_before: datetime, policies: Iterable[str] | None, other_than: Iterable[str] = (),
        limit: int = 100,
    ) -> list[EscalationRow]:  # fmt: skip
        """Closed escalations whose content is still here, ended before `ended_before`: those of
        `policies` (None: of any policy but `other_than`), longest closed first."""
        where, args = "erased_at IS NULL AND status != 'open' AND ended_at < ?", [_iso(ended_before)]
        if policies is not None:
            ids = list(policies)
            where += f" AND policy_id IN ({', '.join('?' * len(ids)) or 'NULL'})"
            args += ids
        else:
            ids = list(other_than)
            if ids:
                where += f" AND policy_id NOT IN ({', '.join('?' * len(ids))})"
                args += ids
        return self._escalations(f"{where} ORDER BY ended_at, number LIMIT ?", [*args, int(limit)])

    def earliest_closed_unerased(
        self, *, policies: Iterable[str] | None, other_than: Iterable[str] = ()
    ) -> datetime | None:
        """When the longest-closed escalation still holding its content ended (of `policies`, or
        of any policy but `other_than`)."""
        rows = self.closed_unerased(ended_before=datetime.max.replace(tzinfo=UTC), policies=policies,
                                    other_than=other_than, limit=1)  # fmt: skip
        return rows[0].ended_at if rows else None

    def pending_of_kind(self, kind: str) -> list[ReminderRow]:
        """Pending reminders of one kind, by the (kind, status) index: sorted here, since an ORDER BY
        in SQL leads SQLite to read every pending reminder in (status, due_at) order instead."""
        rows = self.db.execute(
            "SELECT id, escalation_id, stage, kind, due_at, data FROM reminders"
            " WHERE kind = ? AND status = 'pending'",
            [kind],
        ).fetchall()
        return sorted((_reminder(*r) for r in rows), key=lambda r: (r.due_at, r.id))

    def erase_escalation(
        self,
        escalation_id: str,
        kept: list[StoredEvent],
        *,
        now: datetime,
        rule: str,
        detail: dict[str, Any],
    ) -> None:
        """Keep only `kept` of the escalation's history (rewritten), drop everything else held about
        it (who was on it, its reminders, questions, thread addresses, queued copies of its
        messages), and record when and under what rule: all in one transaction."""
        with self.transaction():
            keep = {e.seq: e for e in kept}
            seqs = [
                r[0]
                for r in self.db.execute("SELECT id FROM events WHERE escalation_id = ?", [escalation_id])
            ]
            self.db.conn.executemany("DELETE FROM events WHERE id = ?", [(q,) for q in seqs if q not in keep])
            self.db.conn.executemany(
                "UPDATE events SET actor = ?, data = ? WHERE id = ?",
                [(e.actor, self._pack(e.kind, e.data), e.seq) for e in kept],
            )
            self.append_event(
                escalation_id, at=now, kind="erased", actor="bot", data={"rule": rule, **detail}
            )
            self.db.execute(
                "UPDATE escalations SET case_reference = ?, participants = '[]', erased_at = ? WHERE id = ?",
                [ERASED_REFERENCE, _iso(now), escalation_id],
            )
            for statement in (
                "DELETE FROM escalation_people WHERE escalation_id = ?",
                "DELETE FROM reminders WHERE escalation_id = ?",
                "DELETE FROM questions WHERE escalation_id = ?",
                "DELETE FROM addresses WHERE kind = 'thread:' || ?",
                "DELETE FROM outbox WHERE json_extract(message, '$.escalation_id') = ?",
            ):
                self.db.execute(statement, [escalation_id])
            self.log_erasure(escalation_id, rule, detail, now=now)

    def settle_erasure(self) -> None:
        """After erasing: merge the directory's search index (so no old word lingers in it) and copy
        the zeroed pages from the write-ahead log into the file itself (a checkpoint)."""
        with self.transaction():
            self.db.execute("INSERT INTO people_search (people_search) VALUES ('optimize')")
        if not self._depth:  # inside a transaction (the nightly job), SQLite's own checkpoint does it
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def log_erasure(self, subject: str, rule: str, detail: dict[str, Any], *, now: datetime) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO erasures (at, subject, rule, detail) VALUES (?, ?, ?, ?)",
                [_iso(now), subject, rule, json.dumps(detail, sort_keys=True)],
            )

    def erasures(self) -> list[tuple[datetime, str, str, dict[str, Any]]]:
        """Every erasure, oldest first: when, what (an escalation id, or an erased person's new id),
        under what rule, and the detail."""
        rows = self.db.execute("SELECT at, subject, rule, detail FROM erasures ORDER BY id").fetchall()
        return [(datetime.fromisoformat(a), s, r, json.loads(d)) for a, s, r, d in rows]

    def forget_transport_copies(self, *, before: datetime) -> int:
        """Delete copies of messages delivered (or given up on) and of events set aside, made before
        `before`: the record is the events, these only carried them. Returns how many went."""
        with self.transaction():
            sent = self.db.execute(
                # By last attempt, which (status, next_attempt_at) indexes: never after delivery.
                "DELETE FROM outbox WHERE status IN ('delivered', 'failed') AND next_attempt_at < ?",
                [_iso(before)],
            ).rowcount
            kept = self.db.execute(
                "DELETE FROM inbox WHERE status = 'failed' AND received_at < ?", [_iso(before)]
            ).rowcount
        return sent + kept

    def escalations_of_person(self, person_id: str) -> list[str]:
        """The escalations `person_id` is on (or was, before any was erased), oldest first."""
        rows = self.db.execute(
            "SELECT p.escalation_id FROM escalation_people p JOIN escalations e ON e.id = p.escalation_id"
            " WHERE p.person_id = ? ORDER BY e.number",
            [person_id],
        )
        return [r[0] for r in rows.fetchall()]

    def messages_to(self, person_id: str) -> list[tuple[datetime, str, Message]]:
        """What the outbox still holds for `person_id`: when queued, its state, the message."""
        rows = self.db.execute(
            "SELECT created_at, status, message FROM outbox WHERE json_extract(message, '$.to') = ?"
            " ORDER BY id",
            [person_id],
        )
        return [
            (datetime.fromisoformat(c), st, Message.from_dict(json.loads(m))) for c, st, m in rows.fetchall()
        ]

    def settings_of(self, person_id: str) -> dict[str, str]:
        rows = self.db.execute("SELECT key, value FROM person_settings WHERE person_id = ?", [person_id])
        return dict(rows.fetchall())

    def rekey_person(self, old: str, new: str, *, name: str, escalation_ids: list[str], rewrite) -> None:
        """An erased person: their directory entry keeps only `name` (a role) and their agency under
        a new id, every reference to them follows (`rewrite` maps event data), and whatever the bot
        held to reach them (accounts, addresses, settings, roles, messages to them) goes."""
        with self.transaction():
            conn = self.db.conn
            for esc_id in escalation_ids:
                for seq, actor, data in conn.execute(
                    "SELECT id, actor, data FROM events WHERE escalation_id = ?", [esc_id]
                ).fetchall():
                    conn.execute(
                        "UPDATE events SET actor = ?, data = ? WHERE id = ?",
                        [
                            new if actor == old else actor,
                            json.dumps(rewrite(json.loads(data)), sort_keys=True),
                            seq,
                        ],
                    )
                for rid, data in conn.execute(
                    "SELECT id, data FROM reminders WHERE escalation_id = ?", [esc_id]
                ).fetchall():
                    conn.execute(
                        "UPDATE reminders SET data = ? WHERE id = ?",
                        [json.dumps(rewrite(json.loads(data)), sort_keys=True), rid],
                    )
                (participants,) = conn.execute(
                    "SELECT participants FROM escalations WHERE id = ?", [esc_id]
                ).fetchone()
                conn.execute(
                    "UPDATE escalations SET participants = ? WHERE id = ?",
                    [json.dumps(sorted(rewrite(json.loads(participants)))), esc_id],
                )
            conn.execute("UPDATE escalation_people SET person_id = ? WHERE person_id = ?", [new, old])
            conn.execute(
                "UPDATE questions SET person_id = ?, status = CASE status WHEN 'open' THEN 'closed'"
                " ELSE status END WHERE person_id = ?",
                [new, old],
            )
            conn.execute(
                "UPDATE people SET id = ?, name = ?, email = NULL, slack_id = NULL, teams_id = NULL,"
                " slack_team = NULL, teams_tenant = NULL, manager_id = NULL, admin = 0, admin_policies = '',"
                " active = 0 WHERE id = ?",
                [new, name, old],
            )
            conn.execute("UPDATE people SET manager_id = ? WHERE manager_id = ?", [new, old])
            for table in ("role_holders", "person_settings", "addresses"):
                conn.execute(f"DELETE FROM {table} WHERE person_id = ?", [old])
            conn.execute("DELETE FROM outbox WHERE json_extract(message, '$.to') = ?", [old])


def _reminder(
    reminder_id: int, escalation_id: str, stage: int, kind: str, due_at: str, data: str
) -> ReminderRow:
    return ReminderRow(
        reminder_id, escalation_id, stage, kind, datetime.fromisoformat(due_at), json.loads(data)
    )


def _question(row: dict[str, Any]) -> Question:
    return Question(
        id=row["id"],
        escalation_id=row["escalation_id"],
        person_id=row["person_id"],
        kind=row["kind"],
        data=json.loads(row["data"]),
        status=row["status"],
    )


_INSTALLATION_COLUMNS = (
    "team_id, bot_token, team_name, enterprise_id, app_id, bot_id, bot_user_id, bot_scopes,"
    " installer, installed_at"
)


def _installation(row: tuple[Any, ...]) -> SlackInstallation:
    *values, installed_at = row
    return SlackInstallation(*values, installed_at=_time(installed_at))


def _person(row: dict[str, Any]) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        agency=row["agency"],
        role=row["role"],
        manager_id=row["manager_id"],
        email=row["email"],
        slack_id=row["slack_id"],
        teams_id=row["teams_id"],
        admin=bool(row["admin"]),
        admin_policies=tuple(p for p in (row.get("admin_policies") or "").split(";") if p),
        roles=tuple(Role(r) for r in sorted((row.get("roles") or "").split(",")) if r),
        slack_team=row.get("slack_team"),
        teams_tenant=row.get("teams_tenant"),
        active=bool(row.get("active", 1)),
        confirmed=bool(row.get("confirmed", 1)),
    )


def _escalation_row(row: dict[str, Any]) -> EscalationRow:
    return EscalationRow(
        id=row["id"],
        policy_id=row["policy_id"],
        case_reference=row["case_reference"],
        status=row["status"],
        stage=row["stage"],
        due=_time(row["due"]),
        opened_at=datetime.fromisoformat(row["opened_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        participants=tuple(json.loads(row["participants"])),
        category=row.get("category") or "",
        urgent=bool(row.get("urgent")),
        immediate_risk=bool(row.get("immediate_risk")),
        highest_stage=row.get("highest_stage") or row["stage"],
        ended_at=_time(row.get("ended_at")),
        outcome_kind=row.get("outcome_kind"),
        raiser_agency=row.get("raiser_agency"),
        counterpart_agency=row.get("counterpart_agency"),
    )
