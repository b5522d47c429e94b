"""Persistence: one `Storage` contract over SQLite (embedded, the default) or PostgreSQL.

`Storage.open(url)` picks the engine from DATABASE_URL; the rows it hands back are in `rows`.
"""

from __future__ import annotations

from bot.storage.engines import DEFAULT_DATABASE_URL, database_path, is_postgres
from bot.storage.errors import StorageError
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
from bot.storage.sqlite_schema import MIGRATIONS
from bot.storage.store import ERASED_REFERENCE, Storage

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ERASED_REFERENCE",
    "MIGRATIONS",
    "EscalationRow",
    "InboxItem",
    "ListIndex",
    "OutboxItem",
    "PlatformTrouble",
    "Question",
    "ReminderRow",
    "SlackInstallation",
    "Storage",
    "StorageError",
    "StoredEvent",
    "database_path",
    "is_postgres",
]
