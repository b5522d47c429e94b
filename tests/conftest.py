"""Shared fixtures: a real database per test (SQLite; PostgreSQL too for the storage contract), the
example directory, a manual clock."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.core import EscalationBot
from bot.policy import PolicyLibrary
from bot.storage import Storage
from support import PEOPLE, london


@pytest.fixture(autouse=True)
def storage_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every database a test opens is watched: the server's async code may reach it only through
    the storage thread, never from the event loop (adapters/storage_thread.py)."""
    from fakes.off_loop import OffLoopWatch

    watch = OffLoopWatch()
    opened = Storage.open.__func__  # type: ignore[attr-defined]

    def open_watched(cls, *args, **kwargs) -> Storage:
        store = opened(cls, *args, **kwargs)
        watch.attach(store)
        return store

    monkeypatch.setattr(Storage, "open", classmethod(open_watched))
    yield
    assert watch.offences == [], "database work on the event loop:\n" + "\n".join(
        dict.fromkeys(watch.offences)
    )


@pytest.fixture(scope="session")
def policies() -> PolicyLibrary:
    return PolicyLibrary.load()


# The storage contract: every test in these folders that opens a database runs once on each
# engine. Elsewhere (adapters, scenarios) tests run on SQLite, the embedded default.
CONTRACT_FOLDERS = ("tests/core/",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = str(metafunc.definition.path).replace("\\", "/")
    if "database_url" in metafunc.fixturenames and any(f in path for f in CONTRACT_FOLDERS):
        metafunc.parametrize("engine", ["sqlite", "postgresql"])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: reads SQLite's own files or query plans")


@pytest.fixture
def engine() -> str:
    return "sqlite"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, engine: str, tmp_path: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'escalations.db'}"
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("reads SQLite's own files or query plans")
    return request.getfixturevalue("postgres_database")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server's URL: TEST_POSTGRES_URL, or a private cluster started for the run."""
    from servers import postgres

    given = os.environ.get("TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        cluster = postgres.start_cluster()
    except (FileNotFoundError, OSError, subprocess.CalledProcessError) as exc:
        reason = postgres.HOW_TO if isinstance(exc, FileNotFoundError) else f"{postgres.HOW_TO} ({exc})"
        if os.environ.get("CI"):
            pytest.fail(f"CI must test PostgreSQL: {reason}", pytrace=False)
        postgres.SKIPPED.append(reason)
        pytest.skip(reason)
    try:
        yield cluster.url()
    finally:
        cluster.stop()


@pytest.fixture
def postgres_database(postgres_server: str) -> str:
    """An empty database at the latest schema on the test server (emptied before each test)."""
    from servers import postgres

    return postgres.empty_database(postgres_server)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from servers import postgres

    # Under `make test` the tests run in worker processes: their skips come back as reports.
    reasons = list(postgres.SKIPPED) + [
        str(report.longrepr[2]).removeprefix("Skipped: ")
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and "PostgreSQL tests skipped" in str(report.longrepr[2])
    ]
    if reasons:
        terminalreporter.write_line(reasons[0])


# The longest tests start first, so the other worker runs the rest beside them rather than one of
# them starting last and running alone.
LONGEST = ("tests/scenarios/test_replicas.py", "tests/scenarios/test_crash.py")


def pytest_collection_modifyitems(config, items) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST))


@pytest.fixture
def store(database_url: str) -> Iterator[Storage]:
    storage = Storage.open(database_url)
    storage.upsert_people(PEOPLE)
    yield storage
    storage.close()


@pytest.fixture
def clock() -> ManualClock:
    # A Tuesday morning, well away from bank holidays.
    return ManualClock(london(2026, 12, 1, 10, 0))


@pytest.fixture
def bot(store: Storage, policies: PolicyLibrary, clock: ManualClock) -> EscalationBot:
    return EscalationBot(store=store, policies=policies, clock=clock)


class Inbox:
    """Delivers the outbox like an adapter would, and keeps what each person received."""

    def __init__(self, store: Storage, clock: ManualClock) -> None:
        self.store = store
        self.clock = clock
        self.received: list = []

    def collect(self) -> list:
        """Deliver everything queued and return just those messages."""
        from bot.outbox import deliver

        new: list = []
        deliver(self.store, self.clock.now(), new.append)
        self.received.extend(new)
        return new

    @staticmethod
    def to(messages: list, person: str) -> list:
        return [m for m in messages if m.to == person]


@pytest.fixture
def inbox(store: Storage, clock: ManualClock) -> Inbox:
    return Inbox(store, clock)


@pytest.fixture
async def slack(tmp_path: Path):
    """The bot serving Slack over real HTTP on 127.0.0.1, against a local fake Web API."""
    from fakes.slack_bot import running_slack_bot

    async with running_slack_bot(tmp_path) as handle:
        yield handle


@pytest.fixture
async def teams(tmp_path: Path):
    """The bot serving Teams over real HTTP on 127.0.0.1, against a local fake Bot Connector."""
    from fakes.teams_bot import running_teams_bot

    async with running_teams_bot(tmp_path) as handle:
        yield handle
