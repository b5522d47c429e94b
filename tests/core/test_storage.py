"""Storage: WAL, schema versions, DATABASE_URL, the outbox that delays but never loses."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.messages import Message
from bot.outbox import GIVE_UP_AFTER, DeliveryFailed, deliver
from bot.storage import MIGRATIONS, Storage, StorageError, database_path
from bot.storage.rows import iso
from support import london


@pytest.mark.sqlite_only
def test_database_is_wal_and_at_the_latest_schema_version(store, database_url):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version == len(MIGRATIONS)
    again = Storage.open(database_url)  # reopening migrates nothing and loses nothing
    assert again.person("alex").name == "Alex Morgan"
    again.close()


def test_a_database_from_a_newer_bot_is_refused(tmp_path):
    path = tmp_path / "future.db"
    sqlite3.connect(path).execute("PRAGMA user_version = 99").connection.close()
    with pytest.raises(StorageError, match="newer than this bot knows"):
        Storage.open(f"sqlite:///{path}")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://db/escalations", "must start with 'sqlite:///' or 'postgresql://'"),
        (
            "postgresql://nobody@127.0.0.1:1/escalations",
            "cannot open the DATABASE_URL database '127.0.0.1:1/escalations'",
        ),
        ("sqlite:///", "names no database file"),
        ("sqlite:////no/such/folder/x.db", "does not exist"),
    ],
)
def test_bad_database_urls_are_explained(url, problem):
    with pytest.raises(StorageError, match=problem):
        Storage.open(url)


def test_database_path_reads_relative_and_absolute_urls():
    assert database_path("sqlite:///escalations.db") == "escalations.db"
    assert database_path("sqlite:////var/lib/bot/e.db") == "/var/lib/bot/e.db"


def test_a_failed_send_is_retried_later_with_backoff_and_not_lost(store):
    now = london(2026, 12, 1, 10)
    store.enqueue([Message(to="alex", text="hello")], now=now)
    attempts: list[str] = []

    def flaky(message: Message) -> None:
        attempts.append(message.text)
        raise DeliveryFailed("HTTP 503")

    report = deliver(store, now, flaky)
    assert (report.delivered, report.retrying) == (0, 1)
    assert deliver(store, now + timedelta(seconds=1), flaky).retrying == 0  # not yet due again
    delivered: list[Message] = []
    deliver(store, now + timedelta(seconds=6), delivered.append)
    assert [m.text for m in delivered] == ["hello"]
    assert store.outbox_counts() == {"delivered": 1}


def test_retry_after_from_the_platform_is_respected(store):
    now = london(2026, 12, 1, 10)
    store.enqueue([Message(to="alex", text="hi")], now=now)

    def rate_limited(message: Message) -> None:
        raise DeliveryFailed("HTTP 429", retry_after=30)

    deliver(store, now, rate_limited)
    sent: list[Message] = []
    deliver(store, now + timedelta(seconds=29), sent.append)
    assert sent == []
    deliver(store, now + timedelta(seconds=30), sent.append)
    assert len(sent) == 1


def test_a_message_that_keeps_failing_is_retried_for_two_days_then_reported(store):
    now = london(2026, 12, 1, 10)
    store.enqueue([Message(to="alex", text="hi")], now=now)
    failed, attempts, at = [], 0, now
    while not failed and at - now < GIVE_UP_AFTER + timedelta(hours=2):
        report = deliver(store, at, _always_fail)
        failed += report.failed
        attempts += report.retrying + len(report.failed)
        at += timedelta(minutes=30)
    assert [m.text for m in failed] == ["hi"]
    assert at - now >= GIVE_UP_AFTER  # an ordinary outage of hours never loses a message
    assert attempts > 40
    assert store.outbox_counts() == {"failed": 1}


def test_an_unexpected_error_delays_one_message_and_blocks_no_other(store):
    now = london(2026, 12, 1, 10)
    store.enqueue([Message(to=p, text=p) for p in ("a", "b", "c")], now=now)
    sent: list[str] = []

    def send(message: Message) -> None:
        if message.to == "b":
            raise KeyError("surprise")
        sent.append(message.to)

    report = deliver(store, now, send)
    assert (sent, report.delivered, report.retrying) == (["a", "c"], 2, 1)
    assert store.outbox_counts() == {"delivered": 2, "pending": 1}


def _always_fail(message: Message) -> None:
    raise DeliveryFailed("HTTP 500")


def test_a_crashed_sender_does_not_lose_the_message(store):
    now = london(2026, 12, 1, 10)
    store.enqueue([Message(to="alex", text="hi")], now=now)
    assert len(store.claim_outbox(now)) == 1  # claimed, then the process died before sending
    assert store.claim_outbox(now + timedelta(seconds=10)) == []
    (again,) = store.claim_outbox(now + timedelta(minutes=3))  # the lease ran out
    assert again.message.text == "hi"


def test_a_version_3_database_gains_roles_and_keeps_its_people(tmp_path):
    from bot.people import Role
    from bot.storage import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    import sqlite_utils

    old = sqlite_utils.Database(conn)
    for migration in MIGRATIONS[:3]:
        migration(old)
    conn.execute("PRAGMA user_version = 3")
    old["people"].insert({"id": "nina", "name": "Nina", "agency": "Camden CS", "role": "NSLO", "admin": 0})
    conn.close()
    store = Storage.open(f"sqlite:///{path}")
    assert store.schema_version == len(MIGRATIONS) >= 4
    assert store.person("nina").roles == ()
    store.name_role_holder(Role.NAMED_LEAD, "Camden CS", "nina")
    assert [p.id for p in store.role_holders(Role.NAMED_LEAD, "Camden CS")] == ["nina"]
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT person_id FROM role_holders WHERE role = ? AND agency_key = ?", ["a", "b"]
    ).fetchall()
    assert "USING" in str(plan) and "INDEX" in str(plan)  # found by key, not by reading every row


@pytest.mark.sqlite_only
def test_finding_a_sender_by_platform_id_or_email_uses_an_index(store):
    for column in ("slack_id", "teams_id", "email"):
        plan = store.db.execute(
            f"EXPLAIN QUERY PLAN SELECT p.* FROM people p WHERE lower(p.{column}) = lower(?)", ["x"]
        ).fetchall()
        assert f"USING INDEX people_lower_{column}" in str(plan)


def test_a_workspace_installation_is_kept_replaced_on_reinstall_and_its_token_never_shown(store):
    from bot.storage import SlackInstallation

    first = SlackInstallation(team_id="T2", bot_token="xoxb-old", team_name="Whittington Health")
    store.save_slack_installation(first, now=london(2026, 12, 1, 10))
    store.save_slack_installation(replace(first, bot_token="xoxb-new"), now=london(2026, 12, 2, 10))
    (kept,) = store.slack_installations()
    assert (kept.team_id, kept.bot_token, kept.installed_at) == ("T2", "xoxb-new", london(2026, 12, 2, 10))
    assert store.slack_installation("T2") == kept and store.slack_installation("T3") is None
    assert "xoxb-new" not in repr(kept)
    store.delete_slack_installation("T2")
    assert store.slack_installations() == []


def test_an_oauth_state_is_good_once_and_only_until_it_expires(store):
    now = london(2026, 12, 1, 10)
    store.add_oauth_state("s1", expires_at=now + timedelta(minutes=10))
    store.add_oauth_state("s2", expires_at=now + timedelta(minutes=10))
    assert store.consume_oauth_state("s1", now=now)
    assert not store.consume_oauth_state("s1", now=now)  # used
    assert not store.consume_oauth_state("never-issued", now=now)
    assert not store.consume_oauth_state("s2", now=now + timedelta(minutes=10))  # expired


def test_a_policy_is_stored_once_per_version_not_in_every_raised_event(bot, store):
    from support import raise_difference

    for n in range(3):
        raise_difference(bot, case_reference=f"CIN-{n}")
    raise_difference(bot, policy_id="enfield", case_reference="CIN-9")
    assert store.sql.execute("SELECT COUNT(*) FROM policy_snapshots").fetchone()[0] == 2
    sizes = [len(r[0]) for r in store.sql.execute("SELECT data FROM events WHERE kind = 'raised'")]
    assert max(sizes) < 2000  # the 12 KB policy is no longer copied into each
    assert bot.load("E-0001").policy == bot.policies.get("camden")


def test_a_raise_rolled_back_leaves_the_next_one_its_policy(bot, store, database_url):
    # The first write of a policy version is remembered only once it is committed: a raise that
    # fails after writing it must not leave the next raise pointing at a snapshot never kept.
    from support import raise_difference

    with pytest.raises(RuntimeError), store.transaction():
        raise_difference(bot, case_reference="CIN-1")
        raise RuntimeError("the raise failed after its events were written")
    assert store.sql.execute("SELECT COUNT(*) FROM policy_snapshots").fetchone()[0] == 0
    raise_difference(bot, case_reference="CIN-2")
    other = Storage.open(database_url)  # another server: it has only the database to go by
    (raised, *_) = other.events("E-0001")
    assert raised.data["policy"] == dict(bot.policies.get("camden").raw)
    other.close()


def test_a_sweeps_batch_reads_the_people_on_it_and_their_managers_at_once(bot, store):
    from support import raise_difference

    raise_difference(bot)  # Alex (managed by Jo) with Sam (managed by Priya)
    raise_difference(bot, counterpart="chris", case_reference="CIN-2")
    found = store.people_of_escalations(["E-0001", "E-0001"])
    assert sorted(p.id for p in found) == ["alex", "jo", "priya", "sam"]
    assert next(p for p in found if p.id == "sam") == store.person("sam")  # roles and all
    assert store.people_of_escalations([]) == []


def test_a_sweeps_batch_reads_what_the_lists_index_holds_and_saves_by_it(bot, store):
    from dataclasses import replace

    from support import raise_difference

    raise_difference(bot)  # Alex (Camden) with Sam (Whittington Health)
    held = store.list_indexes(["E-0001", "E-0404"])
    assert held["E-0001"].people == {"alex", "sam"}
    assert set(held["E-0001"].agencies) == {"raising", "other"}
    assert held["E-0404"].people == frozenset() and held["E-0404"].agencies == {}
    # Saved by what was read, Jo joins and Sam leaves it, as a read of the index would have done.
    row = store.escalation_row("E-0001")
    with store.transaction():
        store.save_escalation(replace(row, participants=("alex", "jo")), indexed=held["E-0001"])
    assert store.list_indexes(["E-0001"])["E-0001"].people == {"alex", "jo"}
    assert [r.id for r in bot.list_for("jo").rows] == ["E-0001"]
    assert bot.list_for("sam").rows == []


def test_a_saved_escalation_keeps_what_changed_and_what_did_not_in_every_list(bot, store, clock):
    # SQLite sets the columns its indexes hold only where they changed (an overdue chase changes
    # none): whichever changed, the row, the overdue order and the erasure queue must all follow.
    from bot.listing import ListFilter
    from support import raise_difference

    raise_difference(bot)
    raise_difference(bot, case_reference="CIN-2")
    first, other = store.escalation_row("E-0001"), store.escalation_row("E-0002")
    now = clock.now()

    def save(**changes):
        with store.transaction():
            store.save_escalation(replace(store.escalation_row("E-0001"), **changes))
        return store.escalation_row("E-0001")

    def closed(ended_before):
        return store.closed_unerased(ended_before=ended_before, policies=None)

    def overdue(actor="alex"):
        return [r.id for r in bot.list_for(actor, ListFilter(overdue=True)).rows]

    chased = save(updated_at=now + timedelta(hours=1), stage=2)  # as a chase or a move saves it
    assert (chased.status, chased.due, chased.stage) == (first.status, first.due, 2)
    assert chased.updated_at == now + timedelta(hours=1)
    assert overdue() == []

    late = save(due=now - timedelta(days=1), case_reference="CIN-1A")
    assert (late.due, late.case_reference) == (now - timedelta(days=1), "CIN-1A")
    assert overdue() == ["E-0001"]
    assert [r.id for r in bot.list_for("alex").rows] == ["E-0001", "E-0002"]  # overdue first

    save(updated_at=now + timedelta(hours=2))  # nothing indexed changes: still overdue
    assert overdue() == ["E-0001"]

    ended = save(status="resolved", due=None, ended_at=now, outcome_kind="resolved")
    assert (ended.status, ended.due, ended.ended_at) == ("resolved", None, now)
    assert overdue() == []
    assert [r.id for r in closed(ended_before=now + timedelta(days=1))] == ["E-0001"]

    reopened = save(status="open", due=now + timedelta(days=3), ended_at=None, outcome_kind=None)
    assert (reopened.status, reopened.ended_at) == ("open", None)
    assert closed(ended_before=now + timedelta(days=1)) == []
    assert store.escalation_row("E-0002") == other  # saved by id: the other is untouched


def test_writes_queued_in_a_transaction_are_read_back_in_it_and_roll_back_with_it(store):
    # On PostgreSQL a write nobody reads goes with the transaction's next read or its commit.
    insert = "INSERT INTO policy_snapshots (hash, body) VALUES (?, ?)"
    count = "SELECT COUNT(*) FROM policy_snapshots"
    with store.transaction():
        store.sql.execute_later(insert, ["a", "{}"])
        assert store.sql.execute(count).fetchone()[0] == 1
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), store.transaction():
        store.sql.execute_later(insert, ["b", "{}"])
        store.sql.execute_later(insert, ["a", "{}"])  # fails: on PostgreSQL, found at the commit
    assert store.sql.execute(count).fetchone()[0] == 1  # "b" went with the failed transaction
    with store.transaction():  # and the store goes on working
        store.sql.execute_later(insert, ["c", "{}"])
    assert store.sql.execute(count).fetchone()[0] == 2


def test_an_older_database_moves_its_policy_copies_into_snapshots(tmp_path, policies):
    import json
    import sqlite3

    from bot.clock import ManualClock
    from bot.core import EscalationBot
    from support import PEOPLE, london, raise_difference

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Storage.open(url)
    store.upsert_people(PEOPLE)
    bot = EscalationBot(store=store, policies=policies, clock=ManualClock(london(2026, 12, 1, 10)))
    raise_difference(bot)
    before = bot.export("alex", "E-0001")
    store.close()
    # As version 17 kept it: the policy copied into the event, no snapshots table.
    conn = sqlite3.connect(tmp_path / "old.db")
    data = json.loads(conn.execute("SELECT data FROM events WHERE kind = 'raised'").fetchone()[0])
    body = conn.execute("SELECT body FROM policy_snapshots").fetchone()[0]
    data = {**{k: v for k, v in data.items() if k != "policy_hash"}, "policy": json.loads(body)}
    conn.execute("UPDATE events SET data = ? WHERE kind = 'raised'", [json.dumps(data)])
    conn.execute("DROP TABLE policy_snapshots")
    conn.execute("PRAGMA user_version = 17")
    conn.commit()
    conn.close()
    store = Storage.open(url)
    assert store.schema_version >= 18
    (text,) = store.db.execute("SELECT data FROM events WHERE kind = 'raised'").fetchone()
    assert "policy_hash" in json.loads(text) and "policy" not in json.loads(text)
    bot = EscalationBot(store=store, policies=policies, clock=ManualClock(london(2026, 12, 1, 10)))
    assert bot.export("alex", "E-0001") == before
    store.close()


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("query", "args", "index"),
    [
        ("UPDATE reminders SET status = 'cancelled' WHERE escalation_id = ? AND status = 'pending'",
         ["E-0001"], "reminders_of_escalation"),
        ("SELECT 1 FROM reminders WHERE kind = ? AND status = 'pending' LIMIT 1", ["digest_daily"],
         "reminders_pending_kind"),
        ("SELECT id FROM people p WHERE p.admin = 1", [], "people_admins"),
        ("DELETE FROM outbox WHERE json_extract(message, '$.escalation_id') = ?", ["E-0001"],
         "outbox_escalation"),
        ("SELECT COALESCE(MAX(number), 0) + 1 FROM escalations", [], "escalations_number"),
    ],
)  # fmt: skip
def test_the_look_ups_on_every_change_use_an_index(store, query, args, index):
    plan = " ".join(str(r) for r in store.db.execute(f"EXPLAIN QUERY PLAN {query}", args).fetchall())
    assert index in plan, plan


def test_two_servers_claiming_at_once_share_the_messages_and_never_take_the_same(store, database_url):
    from concurrent.futures import ThreadPoolExecutor

    from bot.messages import MessageKind

    now = london(2026, 12, 1, 10)
    store.enqueue([Message(to="sam", text=f"m{i}", kind=MessageKind.NOTICE) for i in range(400)], now=now)
    other = Storage.open(database_url)
    try:

        def drain(server: Storage) -> list[int]:
            taken: list[int] = []
            while batch := server.claim_outbox(now, limit=7):
                taken += [item.id for item in batch]
            return taken

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(drain, [store, other])
        assert not set(first) & set(second)
        assert len(first) + len(second) == len(set(first) | set(second)) == 400  # each once, none left

        # A lease that ran out mid-batch: the other server takes the message over, and the first,
        # about to send it, finds it is no longer its own.
        # (Under load one server can take all 400 before the other's first claim: either may hold.)
        holder, taker, held = (store, other, first) if first else (other, store, second)
        taken = held[0]
        later = now + timedelta(minutes=3)
        assert any(item.id == taken for item in taker.claim_outbox(later, limit=400))
        assert not holder.outbox_hold(taken, now=later)
        assert taker.outbox_hold(taken, now=later)
    finally:
        other.close()


async def test_a_batch_slower_than_one_lease_stays_its_senders_and_goes_once(store, database_url):
    from bot.clock import ManualClock
    from bot.outbox import deliver_async

    now = london(2026, 12, 1, 10)
    clock = ManualClock(now)
    store.enqueue([Message(to="sam", text=f"m{i}") for i in range(3)], now=now)
    other = Storage.open(database_url)
    sent: list[str] = []
    taken_by_other: list[int] = []

    async def slow_send(message: Message) -> None:
        # Each message takes most of a lease (a platform rate-limiting us); meanwhile the other
        # server looks for work, as it would every few seconds.
        clock.advance(timedelta(seconds=store.lease_seconds - 20))
        taken_by_other.extend(item.id for item in other.claim_outbox(clock.now()))
        sent.append(message.text)

    try:
        report = await deliver_async(store, clock.now, slow_send)
        assert sent == ["m0", "m1", "m2"] and report.delivered == 3
        assert taken_by_other == []  # three sends, nearly three leases long: never lapsed
        assert store.outbox_counts() == {"delivered": 3}
    finally:
        other.close()


def test_reads_sent_together_come_back_whole_and_in_order(store):
    # On PostgreSQL they share one round trip; inside a transaction they see its queued writes.
    count = "SELECT COUNT(*) FROM policy_snapshots"
    first, second = store.sql.read_together([(count, []), ("SELECT ? AS said", ["hello"])])
    assert (first.fetchone()[0], second.fetchall(), second.description[0][0]) == (0, [("hello",)], "said")
    with store.transaction():
        store.sql.execute_later("INSERT INTO policy_snapshots (hash, body) VALUES (?, ?)", ["a", "{}"])
        (after,) = store.sql.read_together([(count, [])])
        assert after.fetchone()[0] == 1


def test_a_persons_own_list_is_read_with_who_they_are(bot, store, clock):
    from bot.listing import EVERY, LEAD_ROLES, Scope
    from support import raise_difference

    raise_difference(bot)
    raise_difference(bot, counterpart="chris", case_reference="CIN-2")
    now = clock.now()

    def read(person_id: str, **page):
        return store.person_and_list(
            person_id, LEAD_ROLES, Scope(person_id=person_id), EVERY, now=now, **page
        )

    person, leads, (rows, total) = read("alex", limit=50, offset=0)
    assert (person, leads) == (store.person("alex"), ())
    assert ([r.id for r in rows], total) == (["E-0002", "E-0001"], 2)
    _, _, (rows, total) = read("alex", limit=1, offset=5)  # past the end: still counted
    assert (rows, total) == ([], 2)
    assert read("nobody", limit=50, offset=0) == (None, (), ([], 0))


def test_a_raise_reads_its_people_and_its_number_together(bot, store):
    from support import raise_difference

    assert store.people_and_next_number(["alex", "sam"]) == (
        {"alex": store.person("alex"), "sam": store.person("sam")},
        1,
    )
    raise_difference(bot)
    with store.transaction():  # as a raise reads them, under its lock
        people, number = store.people_and_next_number(["alex", "nobody", "alex"])
    assert (people, number) == ({"alex": store.person("alex")}, 2)
    assert store.people_and_next_number([]) == ({}, 2)
    assert store.people_and_next_number(["alex", ""]) == ({"alex": store.person("alex")}, 2)  # no counterpart


def test_events_keep_the_order_they_were_written_in_whoever_writes_them(bot, store, database_url):
    # On PostgreSQL an event's id is taken from ids reserved for its transaction, so the insert
    # waits for nothing; the ids must still rise in the order the history was written.
    from support import raise_difference

    raise_difference(bot)
    at = london(2026, 12, 1, 10)
    other = Storage.open(database_url)
    given: list[tuple[int, str]] = []

    def note(server: Storage, text: str) -> None:
        event_id = server.append_event("E-0001", at=at, kind="note_added", actor="alex", data={"text": text})
        given.append((event_id, text))

    try:
        with store.transaction():  # more than one reservation's worth in one transaction
            for i in range(70):
                note(store, f"first {i}")
        note(other, "from the other server")
        with store.transaction():
            store.reserve_event_ids(5)
            note(store, "after")
        with pytest.raises(RuntimeError), other.transaction():
            note(other, "rolled back")
            raise RuntimeError("the command failed")
        given.pop()
        with other.transaction():
            other.reserve_event_ids(3)  # reserved, none used: nothing written
        note(store, "last")
        # Outside a transaction there is nothing reserved to draw on: the insert reads its id back.
        columns = ("escalation_id", "at", "kind", "actor", "data")
        loose = ["E-0001", iso(at), "note_added", "sam", json.dumps({"text": "loose"})]
        given.append((other.sql.insert_returning_id("events", columns, loose), "loose"))
    finally:
        other.close()
    stored = [(e.seq, e.data["text"]) for e in store.events("E-0001") if e.kind == "note_added"]
    assert stored == given
    assert [seq for seq, _ in stored] == sorted({seq for seq, _ in stored})
    assert [text for _, text in stored][-4:] == ["from the other server", "after", "last", "loose"]
