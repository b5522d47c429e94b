"""The SQLite schema: its migrations, applied in order and counted by PRAGMA user_version.

A migration here is never changed once released; a new one is appended (with its PostgreSQL twin in
bot/storage/postgres_schema.py, so both engines reach the same version).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlite_utils

from bot.people import agency_key


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


def _v20_messages_by_recipient(db: sqlite_utils.Database) -> None:
    # A person's data export and erasure find the messages queued to them by index.
    db.execute("CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (json_extract(message, '$.to'))")


def _v21_outbox_claims(db: sqlite_utils.Database) -> None:
    # Which server holds each message being sent, so one whose lease ran out mid-batch does not
    # send what another has since taken over.
    if "claimed_by" not in db["outbox"].columns_dict:
        db["outbox"].add_column("claimed_by", str)


def _v22_indexes_at_scale(db: sqlite_utils.Database) -> None:
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


def _v23_events_key_checked_at_commit(db: sqlite_utils.Database) -> None:
    """PostgreSQL's v23 checks the events' escalation key at commit. SQLite does so for every
    transaction it begins (engines.SqliteEngine.begin), which needs no change to the schema."""


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
    _v20_messages_by_recipient,
    _v21_outbox_claims,
    _v22_indexes_at_scale,
    _v23_events_key_checked_at_commit,
)
