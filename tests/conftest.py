"""Shared fixtures: a real SQLite file per test, the example directory, a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.calendar import LONDON
from bot.clock import ManualClock
from bot.core import EscalationBot
from bot.directory import Person
from bot.policy_loader import PolicyLibrary
from bot.storage import Storage

REPO = Path(__file__).resolve().parent.parent

# A small directory: two agencies with line management, a school DSL with no manager on record,
# and a partnership admin.
PEOPLE = (
    Person("alex", "Alex Morgan", "Camden Children's Services", "Social Worker", manager_id="jo"),
    Person("jo", "Jo Bennett", "Camden Children's Services", "Team Manager", manager_id="ravi"),
    Person("ravi", "Ravi Shah", "Camden Children's Services", "Service Manager"),
    Person("sam", "Sam Patel", "Whittington Health", "Health Visitor", manager_id="priya"),
    Person("priya", "Priya Nair", "Whittington Health", "Health Visiting Team Lead"),
    Person("chris", "Chris Doyle", "Hillside Primary School", "Designated Safeguarding Lead"),
    Person("kim", "Kim Lee", "Hillside Primary School", "Headteacher"),
    Person("dee", "Dee Okafor", "Partnership", "Partnership Business Manager", admin=True),
    Person("eve", "Eve Stone", "Camden Children's Services", "Social Worker", manager_id="jo"),
)


def london(*args: int) -> datetime:
    """An aware Europe/London datetime: london(2026, 12, 1, 10)."""
    return datetime(*args, tzinfo=LONDON)


@pytest.fixture(scope="session")
def policies() -> PolicyLibrary:
    return PolicyLibrary.load()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'escalations.db'}"


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
