"""The one error storage raises for a database it cannot open or use."""

from __future__ import annotations


class StorageError(Exception):
    """A database that cannot be opened or used; the message says which and why."""
