"""The bot's database: every query it runs, written once for both engines (bot/storage/engines.py)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bot.calendar import LONDON
from bot.messages import Message
from bot.people import Person, Role, agency_key
from bot.storage import rows as _rows
from bot.storage.engines import DEFAULT_DATABASE_URL, Engine, insert_sql, open_engine
from bot.storage.rows import (
    INSTALLATION_COLUMNS as _INSTALLATION_COLUMNS,
)
from bot.storage.rows import (
    EscalationRow,
    InboxItem,
    ListIndex,
    OutboxItem,
    PlatformTrouble,
    Question,
    ReminderRow,
    SlackInstallation,
    StoredEvent,
)
from bot.storage.rows import (
    iso as _iso,
)
from bot.storage.rows import (
    time_or_none as _time,
)

ERASED_REFERENCE = "[erased]"  # an erased escalation's case reference
# The escalations columns in the table's own indexes (the lists' overdue order, retention's).
ESCALATION_INDEXED_COLUMNS = ("status", "due", "ended_at")
_escalation_row, _person, _question, _reminder, _installation = (
    _rows.escalation_row, _rows.person, _rows.question, _rows.reminder, _rows.installation,
)  # fmt: skip


class Storage:
    """The bot's database. Open with `Storage.open(url)`; close when done."""

    def __init__(self, engine: Engine) -> None:
        self.sql = engine
        self._depth = 0
        # Names this process's claims of messages to send (a lease another replica may take over).
        self.owner = uuid.uuid4().hex[:12]
        # How long a claimed message is this server's alone to send (OUTBOX_LEASE_SECONDS).
        self.lease_seconds = 120
        # Policy snapshots by hash, each known to be in the database: a few distinct ones serve
        # every escalation (treat as read-only). One written in a transaction is known only once
        # that commits: a raise rolled back must not leave the next raise pointing at nothing.
        self._snapshots: dict[str, dict[str, Any]] = {}
        self._snapshots_written: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(cls, url: str = DEFAULT_DATABASE_URL, *, create: bool = True) -> Storage:
        """Open (creating if `create`, and migrating as needed) the database at `url`."""
        store = cls(open_engine(url, create=create))
        store.migrate()
        return store

    @property
    def engine(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.sql.name

    @property
    def db(self) -> Any:
        """The SQLite database itself, for SQLite-only tools and tests (not on PostgreSQL)."""
        return self.sql.db  # type: ignore[attr-defined]

    def close(self) -> None:
        self.sql.close()

    # -- schema ------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return self.sql.schema_version()

    def migrate(self) -> None:
        """Apply any migrations newer than the database's schema version, each in a transaction."""
        self.sql.migrate(self.transaction)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (writers take turns, across processes); nests safely."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.sql.begin()
        self._depth = 1
        try:
            yield
        except BaseException:
            self.sql.rollback()
            raise
        else:
            self.sql.commit()
            self._snapshots.update(self._snapshots_written)
        finally:
            self._depth = 0
            self._snapshots_written.clear()

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
            if rows:
                columns = list(rows[0])
                changes = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
                self.sql.executemany(
                    f"INSERT INTO people ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                    f" ON CONFLICT (id) DO UPDATE SET {changes}",
                    [[r[c] for c in columns] for r in rows],
                )
            for p in people if with_roles else ():
                self.sql.execute(
                    "DELETE FROM role_holders WHERE person_id = ? AND source = 'directory'", [p.id]
                )
                self.sql.executemany(
                    "INSERT INTO role_holders (role, agency_key, person_id, source)"
                    " VALUES (?, ?, ?, 'directory') ON CONFLICT DO NOTHING",
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
            cursor = self.sql.execute("UPDATE people SET active = 0 WHERE id = ? AND active = 1", [person_id])
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
        matches, args = self.sql.people_matching(words, limit)
        return self._people(f"p.active = 1 AND {matches}", args)

    def role_holders(self, role: Role, agency: str) -> list[Person]:
        """Who holds `role` in `agency`, by the directory or as named in chat."""
        return self._people(
            "p.id IN (SELECT person_id FROM role_holders WHERE role = ? AND agency_key = ?)",
            [role.value, agency_key(agency)],
        )

    def name_role_holder(self, role: Role, agency: str, person_id: str) -> None:
        """Remember that `person_id` holds `role` for `agency`, as someone on an escalation said."""
        with self.transaction():
            self.sql.execute(
                "INSERT INTO role_holders (role, agency_key, person_id, source)"
                " VALUES (?, ?, ?, 'named') ON CONFLICT DO NOTHING",
                [role.value, agency_key(agency), person_id],
            )

    def role_assignments(self) -> list[tuple[str, str, str, str]]:
        """Every (role, agency, person id, source) the bot knows, for an admin to review."""
        return [
            tuple(row)
            for row in self.sql.execute(
                "SELECT r.role, COALESCE(p.agency, r.agency_key), r.person_id, r.source FROM role_holders r"
                " LEFT JOIN people p ON p.id = r.person_id ORDER BY r.role, r.agency_key, r.person_id"
            ).fetchall()
        ]

    def remove_role(self, person_id: str, role: Role) -> int:
        """Stop `person_id` holding `role` anywhere, however it was recorded; returns how many went."""
        with self.transaction():
            cursor = self.sql.execute(
                "DELETE FROM role_holders WHERE person_id = ? AND role = ?", [person_id, role.value]
            )
            return cursor.rowcount

    def _people(self, where: str = "TRUE", args: list[Any] | None = None) -> list[Person]:
        """People matching `where` (on `people p`), each with their roles, by name."""
        return [person for person, _ in self._people_with(where, args or [])]

    def _people_with(
        self, where: str, args: list[Any], extra: str = "", extra_args: Iterable[Any] = ()
    ) -> list[tuple[Person, Any]]:
        """`_people`, each with the value of the `extra` column (an expression on `people p`)."""
        return self._people_read(self.sql.execute(*self._people_sql(where, args, extra, extra_args)))

    def _people_sql(
        self, where: str, args: list[Any], extra: str = "", extra_args: Iterable[Any] = ()
    ) -> tuple[str, list[Any]]:
        sql = (
            f"SELECT p.*, (SELECT {self.sql.group_concat('DISTINCT r.role')} FROM role_holders r"
            f" WHERE r.person_id = p.id) AS roles, {extra or 'NULL'} AS extra"
            f" FROM people p WHERE {where} ORDER BY p.name, p.id"
        )
        return sql, [*extra_args, *args]

    @staticmethod
    def _people_read(cursor: Any) -> list[tuple[Person, Any]]:
        columns = [d[0] for d in cursor.description]
        found = []
        for row in cursor.fetchall():
            fields = dict(zip(columns, row, strict=True))
            value = fields.pop("extra")
            found.append((_person(fields), value))
        return found

    def people_of_escalations(self, escalation_ids: Iterable[str]) -> list[Person]:
        """Everyone on these escalations and their line managers, in one read: whom a sweep's
        batch of reminders names and writes to."""
        ids = list(dict.fromkeys(escalation_ids))
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        on = f"SELECT person_id FROM escalation_people WHERE escalation_id IN ({marks})"
        # One IN over a UNION, not two INs joined by OR: PostgreSQL scans every person for an OR.
        return self._people(
            f"p.id IN ({on} UNION SELECT q.manager_id FROM people q WHERE q.id IN ({on}))", ids + ids
        )

    def person_and_lead_agencies(
        self, person_id: str, roles: Iterable[Role]
    ) -> tuple[Person | None, tuple[str, ...]]:
        """`person` and `lead_agencies` in one read: what a person's list is scoped by."""
        return self._person_and_leads_read(self.sql.execute(*self._person_and_leads_sql(person_id, roles)))

    def person_and_list(
        self,
        person_id: str,
        roles: Iterable[Role],
        own: Any,
        filters: Any,
        *,
        now: datetime,
        limit: int,
        offset: int,
    ) -> tuple[Person | None, tuple[str, ...], tuple[list[EscalationRow], int]]:
        """`person_and_lead_agencies`, with `list_escalations` for the scope `own` (the escalations
        the person is on), read together: one round trip on PostgreSQL, not two. The page is the
        person's list unless they are an admin or a lead; the caller then reads theirs."""
        condition, args, everything = self._list_condition(own, filters, now)
        if everything:
            raise ValueError("person_and_list reads the escalations of one person, not everything")
        found, listed = self.sql.read_together(
            [
                self._person_and_leads_sql(person_id, roles),
                self._sorted_whole(condition, args, now, limit, offset),
            ]
        )
        person, leads = self._person_and_leads_read(found)
        if person is None:
            return None, (), ([], 0)
        rows, total = self._counted_read(listed)
        if total is None:  # a page past the end: no row came back to carry the count
            total = self._count(condition, args)
        return person, leads, (rows, total)

    def _person_and_leads_sql(self, person_id: str, roles: Iterable[Role]) -> tuple[str, list[Any]]:
        values = [r.value for r in roles]
        agencies = (
            f"(SELECT {self.sql.json_array_agg('DISTINCT l.agency_key')} FROM role_holders l"
            f" WHERE l.person_id = p.id AND l.role IN ({', '.join('?' * len(values))}))"
        )
        return self._people_sql("p.id = ?", [person_id], agencies, values)

    def _person_and_leads_read(self, cursor: Any) -> tuple[Person | None, tuple[str, ...]]:
        found = self._people_read(cursor)
        if not found:
            return None, ()
        person, keys = found[0]
        return person, tuple(sorted(json.loads(keys or "[]")))

    def set_manager(self, person_id: str, manager_id: str) -> None:
        with self.transaction():
            self.sql.execute("UPDATE people SET manager_id = ? WHERE id = ?", [manager_id, person_id])

    def admins(self, policy_id: str | None = None) -> list[Person]:
        """Partnership admins: all of them, or those named for `policy_id`."""
        everyone = self._people("p.admin = 1")
        return [p for p in everyone if policy_id is None or p.is_admin_for(policy_id)]

    # -- escalations and their events ----------------------------------------------------------

    NEXT_NUMBER = "SELECT COALESCE(MAX(number), 0) + 1 FROM escalations"

    def next_escalation_number(self) -> int:
        return int(self.sql.execute(self.NEXT_NUMBER).fetchone()[0])

    def people_and_next_number(self, person_ids: Iterable[str]) -> tuple[dict[str, Person], int]:
        """These people (those found, by id; an empty id is none) and `next_escalation_number`,
        read together: what a raise reads first, in one round trip on PostgreSQL, not three."""
        ids = [person_id for person_id in dict.fromkeys(person_ids) if person_id]
        marks = ", ".join("?" * len(ids)) or "NULL"
        found, number = self.sql.read_together(
            [self._people_sql(f"p.id IN ({marks})", ids), (self.NEXT_NUMBER, [])]
        )
        people = {person.id: person for person, _ in self._people_read(found)}
        return people, int(number.fetchone()[0])

    def save_escalation(
        self, row: EscalationRow, number: int | None = None, indexed: ListIndex | None = None
    ) -> None:
        """Insert (given its `number`) or update the list view of an escalation. `indexed` is what
        the lists' index holds for it now, when the caller read it already (`list_indexes`)."""
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
                insert = insert_sql("escalations", (*data, "number"), returning_id=False)
                self.sql.execute_later(insert, [*data.values(), number])
            else:
                self._update_escalation(data)
            self._index_escalation(row, new=number is not None, indexed=indexed)

    def _update_escalation(self, data: dict[str, Any]) -> None:
        """The list row's new values (by `_escalation_updates`)."""
        columns, update, indexed = _escalation_updates(tuple(data), self.sql.rewrites_unchanged_index_entries)
        self.sql.execute_later(update, [*(data[c] for c in columns), data["id"]])
        if indexed:
            values = [data[c] for c in ESCALATION_INDEXED_COLUMNS]
            self.sql.execute_later(indexed, [*values, data["id"], *values])

    def list_indexes(self, escalation_ids: Iterable[str]) -> dict[str, ListIndex]:
        """What the lists' index holds for each of these escalations, in one read: a sweep's batch
        saves each without reading its own."""
        ids = list(dict.fromkeys(escalation_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self.sql.execute(
            f"SELECT escalation_id, '', person_id FROM escalation_people WHERE escalation_id IN ({marks})"
            " UNION ALL SELECT escalation_id, side, agency_key FROM escalation_agencies"
            f" WHERE escalation_id IN ({marks})",
            ids + ids,
        ).fetchall()
        people: dict[str, set[str]] = {e: set() for e in ids}
        agencies: dict[str, dict[str, str]] = {e: {} for e in ids}
        for escalation, side, value in rows:
            if side:
                agencies[escalation][side] = value
            else:
                people[escalation].add(value)
        return {e: ListIndex(frozenset(people[e]), agencies[e]) for e in ids}

    def _index_escalation(self, row: EscalationRow, *, new: bool, indexed: ListIndex | None) -> None:
        """Who is on it and which agencies it involves, as the lists look them up."""
        conn = self.sql
        if new:  # nothing to read: a new escalation has no rows in either table yet
            conn.executemany(
                "INSERT INTO escalation_people VALUES (?, ?)",
                [(row.id, p) for p in sorted(set(row.participants))],
            )
            agencies = (("raising", row.raiser_agency), ("other", row.counterpart_agency))
            conn.executemany(
                "INSERT INTO escalation_agencies (escalation_id, agency_key, side) VALUES (?, ?, ?)",
                [(row.id, agency_key(agency), side) for side, agency in agencies if agency],
            )
            return
        if indexed is None:
            indexed = self.list_indexes([row.id])[row.id]
        known, held = set(indexed.people), indexed.agencies
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
        for side, agency in (("raising", row.raiser_agency), ("other", row.counterpart_agency)):
            if agency and held.get(side) != agency_key(agency):  # written only when it changes
                conn.execute_later(
                    "INSERT INTO escalation_agencies (escalation_id, agency_key, side) VALUES (?, ?, ?)"
                    " ON CONFLICT (escalation_id, side) DO UPDATE SET agency_key = excluded.agency_key",
                    [row.id, agency_key(agency), side],
                )

    def escalation_row(self, escalation_id: str) -> EscalationRow | None:
        rows = self._escalations("e.id = ?", [escalation_id])
        return rows[0] if rows else None

    def open_escalations_of(self, person_id: str) -> list[EscalationRow]:
        """Open escalations `person_id` is on, found by who is on each (the few they are on, not
        every open escalation); the open kept here, so SQLite cannot choose to read every open one."""
        rows = self._escalations(
            "e.id IN (SELECT escalation_id FROM escalation_people WHERE person_id = ?) ORDER BY e.number",
            [person_id],
        )
        return [r for r in rows if r.status == "open"]

    def list_escalations(
        self, scope: Any, filters: Any, *, now: datetime, limit: int = 50, offset: int = 0
    ) -> tuple[list[EscalationRow], int]:
        """A page of the escalations `scope` may see that match `filters` (bot.listing), overdue
        first (longest overdue first), then newest first; and how many match in all."""
        condition, args, everything = self._list_condition(scope, filters, now)
        late = "e.status = 'open' AND e.due < ?"
        if not everything or filters.agency:
            rows, total = self._counted_read(
                self.sql.execute(*self._sorted_whole(condition, args, now, limit, offset))
            )
            if total is None:  # a page past the end: no row came back to carry the count
                total = self._count(condition, args)
            return rows, total
        total = self._count(condition, args)
        # Everything (an admin): two reads, each in the order of an index, rather than one sort of
        # a million rows: the overdue by due time (status, due), then the rest newest first.
        late_count = self.sql.execute(
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

    @staticmethod
    def _sorted_whole(
        condition: str, args: list[Any], now: datetime, limit: int, offset: int
    ) -> tuple[str, list[Any]]:
        """The one read of a page of a person's or an agency's escalations (`condition`): few,
        found by index, so sorted whole, and counted in the same read (on PostgreSQL a second
        read was most of a list's time). Read with `_counted_read`."""
        late = "e.status = 'open' AND e.due < ?"
        order = f"({late} AND e.due IS NOT NULL) DESC, CASE WHEN {late} THEN e.due END, e.number DESC"
        statement = (
            f"SELECT e.*, COUNT(*) OVER () AS matching_rows FROM escalations e"
            f" WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        return statement, [*args, _iso(now), _iso(now), int(limit), int(offset)]

    def _count(self, condition: str, args: list[Any]) -> int:
        return int(
            self.sql.execute(f"SELECT COUNT(*) FROM escalations e WHERE {condition}", args).fetchone()[0]
        )

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
            seen.append("TRUE")
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
        where = [f"({' OR '.join(seen) or 'FALSE'})"]
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
        return " AND ".join(where), args, seen == ["TRUE"]

    def _escalations(self, where: str, args: list[Any]) -> list[EscalationRow]:
        cursor = self.sql.execute(f"SELECT e.* FROM escalations e WHERE {where}", args)
        columns = [c[0] for c in cursor.description]
        return [_escalation_row(dict(zip(columns, r, strict=True))) for r in cursor.fetchall()]

    @staticmethod
    def _counted_read(cursor: Any) -> tuple[list[EscalationRow], int | None]:
        """Rows of a `_sorted_whole` read, and how many match before its LIMIT (None if none came back)."""
        columns = [c[0] for c in cursor.description]
        found = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
        total = found[0]["matching_rows"] if found else None
        for row in found:
            del row["matching_rows"]
        return [_escalation_row(row) for row in found], total

    def lead_agencies(self, person_id: str, roles: Iterable[Role]) -> tuple[str, ...]:
        """The agencies (their keys) for which `person_id` holds any of `roles`."""
        return self.person_and_lead_agencies(person_id, roles)[1]

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
        rows = self.sql.execute(
            f"SELECT * FROM escalations WHERE {where} ORDER BY due LIMIT ?", [*args, limit]
        )
        columns = [c[0] for c in rows.description]
        return [_escalation_row(dict(zip(columns, r, strict=True))) for r in rows.fetchall()]

    def setting(self, person_id: str, key: str) -> str | None:
        row = self.sql.execute(
            "SELECT value FROM person_settings WHERE person_id = ? AND key = ?", [person_id, key]
        ).fetchone()
        return row[0] if row else None

    def set_setting(self, person_id: str, key: str, value: str) -> None:
        with self.transaction():
            self.sql.execute(
                "INSERT INTO person_settings (person_id, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (person_id, key) DO UPDATE SET value = excluded.value",
                [person_id, key, value],
            )

    def people_with_setting(self, key: str, value: str) -> list[str]:
        return [r[0] for r in self.sql.execute(
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
        total = self.sql.execute(f"SELECT COUNT(*) FROM escalations e WHERE {where}", args).fetchone()[0]
        return self._escalations(f"{where} ORDER BY e.due LIMIT ?", [*args, limit]), int(total)

    def raised_counts(self, starts: datetime, ends: datetime) -> dict[str, int]:
        """How many differences each policy had raised in [starts, ends)."""
        rows = self.sql.execute(
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
        rows = self.sql.execute(
            f"SELECT policy_id, COUNT(*) FROM escalations WHERE {where} GROUP BY policy_id", args
        )
        return dict(rows.fetchall())

    def has_pending(self, kind: str) -> bool:
        """Whether a reminder of this kind is planned (e.g. the admins' next digest)."""
        row = self.sql.execute(
            "SELECT 1 FROM reminders WHERE kind = ? AND status = 'pending' LIMIT 1", [kind]
        ).fetchone()
        return row is not None

    def append_event(
        self, escalation_id: str, *, at: datetime, kind: str, actor: str, data: dict[str, Any]
    ) -> int:
        """Append one event to an escalation's history (never updated or deleted)."""
        with self.transaction():
            return self.sql.insert_returning_id(
                "events",
                ("escalation_id", "at", "kind", "actor", "data"),
                [escalation_id, _iso(at), kind, actor, self._pack(kind, data)],
            )

    def reserve_event_ids(self, count: int) -> None:
        """In a transaction about to append `count` events: let their ids come with the next read
        (on PostgreSQL, one round trip fewer; nothing on SQLite)."""
        self.sql.reserve_ids("events", count)

    def append_events(
        self, escalation_id: str, events: Iterable[tuple[datetime, str, str, dict[str, Any]]]
    ) -> None:
        """Append several events, (at, kind, actor, data) each, in one write: a bulk load, which
        reads none of their ids back (bench/scale_build.py)."""
        rows = [
            (escalation_id, _iso(at), kind, actor, self._pack(kind, data)) for at, kind, actor, data in events
        ]
        with self.transaction():
            self.sql.executemany(
                "INSERT INTO events (escalation_id, at, kind, actor, data) VALUES (?, ?, ?, ?, ?)", rows
            )

    def _pack(self, kind: str, data: dict[str, Any]) -> str:
        if kind == "raised" and isinstance(data.get("policy"), dict):
            body = json.dumps(data["policy"], sort_keys=True)
            digest = hashlib.sha256(body.encode()).hexdigest()
            if digest not in self._snapshots and digest not in self._snapshots_written:
                self.sql.execute_later(
                    "INSERT INTO policy_snapshots (hash, body) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [digest, body],
                )
                self._snapshots_written[digest] = json.loads(body)  # not the caller's dict
            rest = {k: v for k, v in data.items() if k != "policy"}
            return json.dumps({**rest, "policy_hash": digest}, sort_keys=True)
        return json.dumps(data, sort_keys=True)

    def _unpack(self, text: str) -> dict[str, Any]:
        data = json.loads(text)
        digest = data.get("policy_hash")
        if digest and "policy" not in data:
            if digest not in self._snapshots:
                row = self.sql.execute(
                    "SELECT body FROM policy_snapshots WHERE hash = ?", [digest]
                ).fetchone()
                self._snapshots[digest] = json.loads(row[0]) if row else {}
            data["policy"] = self._snapshots[digest]
        return data

    def events(self, escalation_id: str) -> list[StoredEvent]:
        return self.events_of([escalation_id]).get(escalation_id, [])

    def events_of(self, escalation_ids: Iterable[str]) -> dict[str, list[StoredEvent]]:
        """The histories of several escalations in one read (a sweep's batch), each in order."""
        ids = list(dict.fromkeys(escalation_ids))
        histories: dict[str, list[StoredEvent]] = {}
        if not ids:
            return histories
        rows = self.sql.execute(
            "SELECT id, escalation_id, at, kind, actor, data FROM events"
            f" WHERE escalation_id IN ({', '.join('?' * len(ids))}) ORDER BY escalation_id, id",
            ids,
        ).fetchall()
        for seq, esc, at, kind, actor, data in rows:
            histories.setdefault(esc, []).append(
                StoredEvent(seq, esc, datetime.fromisoformat(at), kind, actor, self._unpack(data))
            )
        return histories

    # -- reminders -----------------------------------------------------------------------------

    def replace_reminders(
        self, escalation_id: str, planned: Iterable[tuple[int, str, datetime, dict[str, Any]]]
    ) -> None:
        """Cancel an escalation's pending reminders and plan these (stage, kind, due, data)."""
        with self.transaction():
            self.sql.execute_later(
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
                self.sql.executemany(
                    "INSERT INTO reminders (escalation_id, stage, kind, due_at, status, data)"
                    " VALUES (?, ?, ?, ?, 'pending', ?)",
                    rows,
                )

    def claim_due_reminders(self, now: datetime, limit: int = 100) -> list[ReminderRow]:
        """Take pending reminders due by `now`, inside the caller's transaction: the rows stay locked
        until it ends (another replica skips them), and a transaction that fails gives them back."""
        cursor = self.sql.execute(
            "UPDATE reminders SET status = 'claimed', done_at = ? WHERE id IN ("
            " SELECT id FROM reminders WHERE status = 'pending' AND due_at <= ?"
            f" ORDER BY due_at, id LIMIT ?{self.sql.skip_locked})"
            " RETURNING id, escalation_id, stage, kind, due_at, data",
            [_iso(now), _iso(now), limit],
        )
        rows = [_reminder(*r) for r in cursor.fetchall()]
        return sorted(rows, key=lambda r: (r.due_at, r.id))

    def finish_reminders(self, finished: Iterable[tuple[int, str]]) -> None:
        """Mark claimed reminders with what became of them, (id, status) each, in one write;
        'pending' gives one back, to be claimed again."""
        with self.transaction():
            self.sql.executemany(
                "UPDATE reminders SET status = ?,"
                " done_at = CASE WHEN ? = 'pending' THEN NULL ELSE done_at END WHERE id = ?",
                [(status, status, rid) for rid, status in finished],
            )

    def finish_reminder(self, reminder_id: int, status: str) -> None:
        # Plain SQL on the sweep's hot path: sqlite-utils re-reads the schema on each table call.
        with self.transaction():
            self.sql.execute_later("UPDATE reminders SET status = ? WHERE id = ?", [status, reminder_id])

    def pending_reminders(self, escalation_id: str | None = None) -> list[ReminderRow]:
        where, args = "status = 'pending'", []
        if escalation_id:
            where += " AND escalation_id = ?"
            args.append(escalation_id)
        rows = self.sql.execute(
            f"SELECT id, escalation_id, stage, kind, due_at, data FROM reminders WHERE {where}", args
        ).fetchall()
        # Sorted here: an ORDER BY leads SQLite to read every pending reminder in (status, due_at)
        # order rather than an escalation's few by its index.
        return sorted((_reminder(*r) for r in rows), key=lambda r: (r.due_at, r.id))

    def next_reminder_at(self) -> datetime | None:
        row = self.sql.execute("SELECT MIN(due_at) FROM reminders WHERE status = 'pending'").fetchone()
        return _time(row[0])

    # -- outbox --------------------------------------------------------------------------------

    def enqueue(self, messages: Iterable[Message], *, now: datetime) -> None:
        """Persist outbound messages; they leave only when an adapter delivers them."""
        at = _iso(now)
        rows = [(at, json.dumps(m.to_dict(), sort_keys=True), "pending", 0, at) for m in messages]
        if rows:
            with self.transaction():
                self.sql.executemany(
                    "INSERT INTO outbox (created_at, message, status, attempts, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    rows,
                )

    def claim_outbox(
        self, now: datetime, limit: int = 50, lease_seconds: int | None = None
    ) -> list[OutboxItem]:
        """Take messages ready to send, each for `lease_seconds`: another replica skips them (rows
        being claimed are skipped, not waited for) until the lease runs out, so a sender that died
        mid-send leaves its messages to be taken over and nothing is lost."""
        lease = self.lease_seconds if lease_seconds is None else lease_seconds
        lease_until = datetime.fromtimestamp(now.timestamp() + lease, UTC)
        cursor = self.sql.execute(
            "UPDATE outbox SET status = 'sending', next_attempt_at = ?, attempts = attempts + 1,"
            " claimed_by = ?"
            " WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'sending')"
            f" AND next_attempt_at <= ? ORDER BY id LIMIT ?{self.sql.skip_locked})"
            " RETURNING id, message, attempts, created_at",
            [_iso(lease_until), self.owner, _iso(now), limit],
        )
        items = [
            OutboxItem(r[0], Message.from_dict(json.loads(r[1])), r[2], datetime.fromisoformat(r[3]))
            for r in cursor
        ]
        return sorted(items, key=lambda i: i.id)

    def outbox_hold(self, item_id: int, now: datetime) -> bool:
        """Just before sending a claimed message: True if this server still holds it; False if its
        lease ran out and another server has taken it over. Every message this server holds has
        its lease renewed: a batch that takes longer than one lease against a platform's rate
        limits stays its own while it makes progress, and lapses only if the server stops."""
        lease_until = datetime.fromtimestamp(now.timestamp() + self.lease_seconds, UTC)
        held = self.sql.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE status = 'sending' AND claimed_by = ? RETURNING id",
            [_iso(lease_until), self.owner],
        ).fetchall()
        return any(row[0] == item_id for row in held)

    # The outbox's writes on the send path are single statements, each atomic on its own: no
    # transaction (and, on PostgreSQL, no turn at the write lock) per message sent.

    def outbox_delivered(self, item_id: int, *, now: datetime) -> None:
        self.sql.execute(
            "UPDATE outbox SET status = 'delivered', delivered_at = ? WHERE id = ?", [_iso(now), item_id]
        )

    def outbox_retry(self, item_id: int, *, at: datetime, error: str) -> None:
        self.sql.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ? WHERE id = ?",
            [_iso(at), error[:200], item_id],
        )

    def outbox_failed(self, item_id: int, *, error: str) -> None:
        self.sql.execute(
            "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?", [error[:200], item_id]
        )

    def outbox_message(self, item_id: int) -> Message | None:
        """The message queued under this outbox id, whatever its state."""
        row = self.sql.execute("SELECT message FROM outbox WHERE id = ?", [item_id]).fetchone()
        return Message.from_dict(json.loads(row[0])) if row else None

    def outbox_parts(self, item_id: int) -> dict[int, str]:
        """Where each part of a queued message went, for the parts that have gone."""
        row = self.sql.execute("SELECT parts FROM outbox WHERE id = ?", [item_id]).fetchone()
        return {int(k): v for k, v in json.loads(row[0] or "{}").items()} if row else {}

    def outbox_part_sent(self, item_id: int, part: int, ref: str) -> None:
        """Record at once that part `part` reached the platform, at `ref`."""
        self.sql.execute(
            f"UPDATE outbox SET parts = {self.sql.json_with('parts')} WHERE id = ?", [str(part), ref, item_id]
        )

    def next_outbox_attempt(self) -> datetime | None:
        """When the next queued message is ready to (re)try, for a loop that sleeps until then."""
        row = self.sql.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        return _time(row[0])

    def outbox_counts(self) -> dict[str, int]:
        rows = self.sql.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    # -- platform addresses ----------------------------------------------------------------------

    def set_address(self, person_id: str, platform: str, address: str, kind: str = "dm") -> None:
        """Remember how to reach a person on a platform (opaque to the core)."""
        self.sql.execute(
            "INSERT INTO addresses (person_id, platform, kind, address) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (person_id, platform, kind) DO UPDATE SET address = excluded.address",
            [person_id, platform, kind, address],
        )

    def find_address(self, platform: str, address: str, kind_prefix: str = "") -> tuple[str, str] | None:
        """Whose address this is, as (person_id, kind): e.g. which case thread a reply is in."""
        rows = self.sql.execute(
            "SELECT person_id, kind FROM addresses WHERE platform = ? AND address = ? AND kind LIKE ?",
            [platform, address, kind_prefix + "%"],
        ).fetchall()
        return (rows[0][0], rows[0][1]) if rows else None

    # -- tenant addresses: how a platform reaches each organisation (many Teams tenants) --------

    def set_tenant_address(self, platform: str, tenant: str, address: str, *, now: datetime) -> None:
        """Remember how to reach an organisation on a platform (opaque to the core)."""
        with self.transaction():
            self.sql.execute(
                "INSERT INTO tenant_addresses (platform, tenant, address, seen_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (platform, tenant) DO UPDATE SET address = excluded.address,"
                " seen_at = excluded.seen_at",
                [platform, tenant, address, _iso(now)],
            )

    def tenant_address(self, platform: str, tenant: str) -> str | None:
        """How this organisation was last reached on the platform, if it ever was."""
        row = self.sql.execute(
            "SELECT address FROM tenant_addresses WHERE platform = ? AND tenant = ?", [platform, tenant]
        ).fetchone()
        return row[0] if row else None

    def addresses(self, platform: str, kind: str) -> list[tuple[str, str]]:
        """Every stored address of this kind on a platform, as (person_id, address)."""
        rows = self.sql.execute(
            "SELECT person_id, address FROM addresses WHERE platform = ? AND kind = ?", [platform, kind]
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    # -- inbox: events acknowledged to a platform, waiting to be handled -------------------------

    def inbox_keep(self, platform: str, event_id: str, body: str, *, now: datetime) -> bool:
        """Store an event before the platform is told it arrived; False if it is already here or
        was handled (a platform's retry)."""
        with self.transaction():
            seen = self.sql.execute(
                "SELECT 1 FROM seen_events WHERE platform = ? AND event_id = ?", [platform, event_id]
            ).fetchone()
            if seen:
                return False
            cursor = self.sql.execute(
                "INSERT INTO inbox (platform, event_id, body, received_at, attempts, status)"
                " VALUES (?, ?, ?, ?, 0, 'pending') ON CONFLICT DO NOTHING",
                [platform, event_id, body, _iso(now)],
            )
            return cursor.rowcount == 1

    def inbox_pending(self, platform: str, limit: int = 50) -> list[InboxItem]:
        """The oldest events not yet handled, in the order they arrived."""
        rows = self.sql.execute(
            "SELECT id, event_id, body, attempts FROM inbox WHERE status = 'pending' AND platform = ?"
            " ORDER BY id LIMIT ?",
            [platform, limit],
        ).fetchall()
        return [InboxItem(r[0], platform, r[1], r[2], r[3]) for r in rows]

    def inbox_handled(self, item: InboxItem, *, now: datetime) -> None:
        """The event was handled: forget what it said, remember only that it was seen."""
        with self.transaction():
            self.sql.execute_later("DELETE FROM inbox WHERE id = ?", [item.id])
            self.sql.execute_later(
                "INSERT INTO seen_events (platform, event_id, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [item.platform, item.event_id, _iso(now)],
            )

    def inbox_failed_attempt(self, item: InboxItem, *, give_up_after: int) -> bool:
        """Count a failed try; after `give_up_after` tries the event is set aside (True), so one
        event the bot cannot handle does not hold up the rest."""
        attempts = item.attempts + 1
        status = "failed" if attempts >= give_up_after else "pending"
        with self.transaction():
            self.sql.execute_later(
                "UPDATE inbox SET attempts = ?, status = ? WHERE id = ?", [attempts, status, item.id]
            )
        return status == "failed"

    def inbox_counts(self) -> dict[str, int]:
        rows = self.sql.execute("SELECT status, COUNT(*) FROM inbox GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    def first_sight(self, platform: str, event_id: str, *, now: datetime) -> bool:
        """True the first time an event id is seen; False for a retry of one already handled."""
        cursor = self.sql.execute(
            "INSERT INTO seen_events (platform, event_id, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [platform, event_id, _iso(now)],
        )
        return cursor.rowcount == 1

    def address(self, person_id: str, platform: str, kind: str = "dm") -> str | None:
        row = self.sql.execute(
            "SELECT address FROM addresses WHERE person_id = ? AND platform = ? AND kind = ?",
            [person_id, platform, kind],
        ).fetchone()
        return row[0] if row else None

    # -- Slack installations and OAuth states (one workspace per agency) -------------------------

    def save_slack_installation(self, installation: SlackInstallation, *, now: datetime) -> None:
        """Keep the bot's installation in a workspace, replacing an earlier one there."""
        row = {k: v for k, v in asdict(installation).items() if k != "installed_at"}
        with self.transaction():
            self.sql.execute("DELETE FROM slack_installations WHERE team_id = ?", [installation.team_id])
            self.sql.execute(
                f"INSERT INTO slack_installations ({', '.join(row)}, installed_at)"
                f" VALUES ({', '.join('?' for _ in row)}, ?)",
                [*row.values(), _iso(now)],
            )

    def slack_installation(self, team_id: str) -> SlackInstallation | None:
        rows = self.sql.execute(
            f"SELECT {_INSTALLATION_COLUMNS} FROM slack_installations WHERE team_id = ?", [team_id]
        ).fetchall()
        return _installation(rows[0]) if rows else None

    def slack_installations(self) -> list[SlackInstallation]:
        """Every workspace the bot is installed in, first installed first."""
        rows = self.sql.execute(
            f"SELECT {_INSTALLATION_COLUMNS} FROM slack_installations ORDER BY installed_at, team_id"
        ).fetchall()
        return [_installation(r) for r in rows]

    def delete_slack_installation(self, team_id: str) -> None:
        with self.transaction():
            self.sql.execute("DELETE FROM slack_installations WHERE team_id = ?", [team_id])

    def add_oauth_state(self, state: str, *, expires_at: datetime) -> None:
        with self.transaction():
            self.sql.execute(
                "INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)", [state, _iso(expires_at)]
            )

    def consume_oauth_state(self, state: str, *, now: datetime) -> bool:
        """True once for a state issued and not yet expired; it cannot be used again. Expired
        states are cleared on the way."""
        with self.transaction():
            self.sql.execute("DELETE FROM slack_oauth_states WHERE expires_at <= ?", [_iso(now)])
            cursor = self.sql.execute("DELETE FROM slack_oauth_states WHERE state = ?", [state])
            return cursor.rowcount == 1

    # -- open questions (e.g. "who is your line manager?") --------------------------------------

    def add_question(self, escalation_id: str, person_id: str, kind: str, data: dict[str, Any]) -> int:
        with self.transaction():
            cursor = self.sql.execute(
                "INSERT INTO questions (escalation_id, person_id, kind, data, status)"
                " VALUES (?, ?, ?, ?, 'open') RETURNING id",
                [escalation_id, person_id, kind, json.dumps(data, sort_keys=True)],
            )
            return int(cursor.fetchone()[0])

    def question(self, question_id: int) -> Question | None:
        rows = self._questions("id = ?", [question_id])
        return rows[0] if rows else None

    def _questions(self, where: str, args: list[Any]) -> list[Question]:
        cursor = self.sql.execute(f"SELECT * FROM questions WHERE {where}", args)
        columns = [c[0] for c in cursor.description]
        return [_question(dict(zip(columns, r, strict=True))) for r in cursor.fetchall()]

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
                where.append(f"{self.sql.json_text('data', key)} = ?")
                args.append(value)
        return self._questions(f"{' AND '.join(where)} ORDER BY id", args)

    def close_question(self, question_id: int) -> None:
        with self.transaction():
            self.sql.execute_later("UPDATE questions SET status = 'answered' WHERE id = ?", [question_id])

    def close_questions(self, escalation_id: str) -> None:
        """Close an escalation's open questions: its stage has moved on, or it has ended."""
        with self.transaction():
            self.sql.execute_later(
                "UPDATE questions SET status = 'closed' WHERE escalation_id = ? AND status = 'open'",
                [escalation_id],
            )

    # -- the partnership's learning report ------------------------------------------------------

    def events_of_escalations_opened(
        self, policy_id: str, *, opened_from: datetime, opened_before: datetime
    ) -> dict[str, list[StoredEvent]]:
        """Each escalation of `policy_id` opened in [opened_from, opened_before), with its history in
        order; found by the (policy_id, opened_at) index, their events by the events index."""
        rows = self.sql.execute(
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
        row = self.sql.execute(
            "SELECT MIN(created_at) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        return _time(row[0])

    def outbox_waiting(self) -> list[Message]:
        """Every message still waiting to be delivered, oldest first."""
        rows = self.sql.execute(
            "SELECT message FROM outbox WHERE status IN ('pending', 'sending') ORDER BY id"
        ).fetchall()
        return [Message.from_dict(json.loads(r[0])) for r in rows]

    def reminders_due(self, now: datetime) -> int:
        """How many reminders are due by `now` and not yet sent."""
        row = self.sql.execute(
            "SELECT COUNT(*) FROM reminders WHERE status = 'pending' AND due_at <= ?", [_iso(now)]
        ).fetchone()
        return int(row[0])

    def platform_troubles(self) -> dict[str, PlatformTrouble]:
        rows = self.sql.execute(
            "SELECT platform, failing_since, alerted_at, last_error FROM platform_health"
        ).fetchall()
        return {
            r[0]: PlatformTrouble(r[0], datetime.fromisoformat(r[1]), _time(r[2]), r[3] or "") for r in rows
        }

    def save_platform_trouble(self, trouble: PlatformTrouble) -> None:
        with self.transaction():
            self.sql.execute(
                "INSERT INTO platform_health (platform, failing_since, alerted_at, last_error)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (platform) DO UPDATE SET failing_since ="
                " excluded.failing_since, alerted_at = excluded.alerted_at, last_error = excluded.last_error",
                [
                    trouble.platform,
                    _iso(trouble.failing_since),
                    _iso(trouble.alerted_at) if trouble.alerted_at else None,
                    trouble.last_error[:200],
                ],
            )

    def clear_platform_trouble(self, platform: str) -> None:
        with self.transaction():
            self.sql.execute("DELETE FROM platform_health WHERE platform = ?", [platform])

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
        """Pending reminders of one kind, by the index of the pending by kind: sorted here, since an
        ORDER BY in SQL can lead SQLite to read every pending reminder in (status, due_at) order."""
        rows = self.sql.execute(
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
                for r in self.sql.execute("SELECT id FROM events WHERE escalation_id = ?", [escalation_id])
            ]
            self.sql.executemany("DELETE FROM events WHERE id = ?", [(q,) for q in seqs if q not in keep])
            self.sql.executemany(
                "UPDATE events SET actor = ?, data = ? WHERE id = ?",
                [(e.actor, self._pack(e.kind, e.data), e.seq) for e in kept],
            )
            self.append_event(
                escalation_id, at=now, kind="erased", actor="bot", data={"rule": rule, **detail}
            )
            self.sql.execute(
                "UPDATE escalations SET case_reference = ?, participants = '[]', erased_at = ? WHERE id = ?",
                [ERASED_REFERENCE, _iso(now), escalation_id],
            )
            by_escalation = self.sql.json_text("message", "escalation_id")
            for statement, value in (
                ("DELETE FROM escalation_people WHERE escalation_id = ?", escalation_id),
                ("DELETE FROM reminders WHERE escalation_id = ?", escalation_id),
                ("DELETE FROM questions WHERE escalation_id = ?", escalation_id),
                ("DELETE FROM addresses WHERE kind = ?", f"thread:{escalation_id}"),
                (f"DELETE FROM outbox WHERE {by_escalation} = ?", escalation_id),
            ):
                self.sql.execute(statement, [value])
            self.log_erasure(escalation_id, rule, detail, now=now)

    def settle_erasure(self) -> None:
        """After erasing: merge the directory's search index (so no old word lingers in it) and copy
        the zeroed pages from the write-ahead log into the file itself (a checkpoint)."""
        self.sql.settle_erasure(in_transaction=bool(self._depth))

    def log_erasure(self, subject: str, rule: str, detail: dict[str, Any], *, now: datetime) -> None:
        with self.transaction():
            self.sql.execute(
                "INSERT INTO erasures (at, subject, rule, detail) VALUES (?, ?, ?, ?)",
                [_iso(now), subject, rule, json.dumps(detail, sort_keys=True)],
            )

    def erasures(self) -> list[tuple[datetime, str, str, dict[str, Any]]]:
        """Every erasure, oldest first: when, what (an escalation id, or an erased person's new id),
        under what rule, and the detail."""
        rows = self.sql.execute("SELECT at, subject, rule, detail FROM erasures ORDER BY id").fetchall()
        return [(datetime.fromisoformat(a), s, r, json.loads(d)) for a, s, r, d in rows]

    def forget_transport_copies(self, *, before: datetime) -> int:
        """Delete copies of messages delivered (or given up on) and of events set aside, made before
        `before`: the record is the events, these only carried them. Returns how many went."""
        with self.transaction():
            sent = self.sql.execute(
                # By last attempt, which (status, next_attempt_at) indexes: never after delivery.
                "DELETE FROM outbox WHERE status IN ('delivered', 'failed') AND next_attempt_at < ?",
                [_iso(before)],
            ).rowcount
            kept = self.sql.execute(
                "DELETE FROM inbox WHERE status = 'failed' AND received_at < ?", [_iso(before)]
            ).rowcount
        return sent + kept

    def escalations_of_person(self, person_id: str) -> list[str]:
        """The escalations `person_id` is on (or was, before any was erased), oldest first."""
        rows = self.sql.execute(
            "SELECT p.escalation_id FROM escalation_people p JOIN escalations e ON e.id = p.escalation_id"
            " WHERE p.person_id = ? ORDER BY e.number",
            [person_id],
        )
        return [r[0] for r in rows.fetchall()]

    def messages_to(self, person_id: str) -> list[tuple[datetime, str, Message]]:
        """What the outbox still holds for `person_id`: when queued, its state, the message."""
        rows = self.sql.execute(
            f"SELECT created_at, status, message FROM outbox WHERE {self.sql.json_text('message', 'to')} = ?"
            " ORDER BY id",
            [person_id],
        )
        return [
            (datetime.fromisoformat(c), st, Message.from_dict(json.loads(m))) for c, st, m in rows.fetchall()
        ]

    def settings_of(self, person_id: str) -> dict[str, str]:
        rows = self.sql.execute("SELECT key, value FROM person_settings WHERE person_id = ?", [person_id])
        return dict(rows.fetchall())

    def rekey_person(self, old: str, new: str, *, name: str, escalation_ids: list[str], rewrite) -> None:
        """An erased person: their directory entry keeps only `name` (a role) and their agency under
        a new id, every reference to them follows (`rewrite` maps event data), and whatever the bot
        held to reach them (accounts, addresses, settings, roles, messages to them) goes."""
        with self.transaction():
            conn = self.sql
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
            conn.execute(f"DELETE FROM outbox WHERE {self.sql.json_text('message', 'to')} = ?", [old])


@lru_cache(maxsize=4)
def _escalation_updates(
    columns: tuple[str, ...], indexed_apart: bool
) -> tuple[tuple[str, ...], str, str | None]:
    """An escalation's list-row UPDATE: the columns it sets (not the policy or when it was raised,
    which never change), its statement, and where `indexed_apart` a second statement setting the
    ESCALATION_INDEXED_COLUMNS only if one changed. SQLite rewrites the index entries of every
    column an UPDATE sets, changed or not: an overdue chase changes none of them, and where due
    times are scattered each rewrite dirtied an index page of its own (92 pages for 50 saves, not 46)."""
    fixed, indexed_columns = ("id", "policy_id", "opened_at"), ESCALATION_INDEXED_COLUMNS
    setting = tuple(c for c in columns if c not in fixed and not (indexed_apart and c in indexed_columns))
    update = f"UPDATE escalations SET {', '.join(f'{c} = ?' for c in setting)} WHERE id = ?"
    if not indexed_apart:
        return setting, update, None
    sets = ", ".join(f"{c} = ?" for c in indexed_columns)
    changed = " OR ".join(f"{c} IS NOT ?" for c in indexed_columns)
    indexed = f"UPDATE escalations SET {sets} WHERE id = ? AND ({changed})"
    return setting, update, indexed
