"""Which parts of a message sent in several parts have gone, so that a retry after a failure
part-way sends only the rest. A message in one part needs no record: it went or it did not."""

from __future__ import annotations

from bot.messages import Message
from bot.storage import Storage


class SentParts:
    """Kept as platform addresses of the recipient, keyed by the message's outbox id and the part."""

    def __init__(self, store: Storage, platform: str, person_id: str, message: Message, count: int) -> None:
        self.store = store
        self.platform = platform
        self.person_id = person_id
        outbox_id = message.data.get("outbox_id")
        self.key = f"part:{outbox_id}:" if outbox_id is not None and count > 1 else None

    def sent(self, k: int) -> str | None:
        """Where part `k` went (channel:ts, an activity id), or None if it has not gone yet."""
        return self.store.address(self.person_id, self.platform, self.key + str(k)) if self.key else None

    def mark(self, k: int, ref: str) -> None:
        if self.key:
            self.store.set_address(self.person_id, self.platform, ref, kind=self.key + str(k))
