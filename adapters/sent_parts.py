"""Which parts of a message have reached the platform, recorded the moment each one does, so a
retry sends only the rest and a lost answer is looked for before anything is sent again."""

from __future__ import annotations

from adapters.storage_thread import StorageThread
from bot.messages import Message
from bot.storage import Storage


class SentParts:
    """Kept on the message's outbox row, by part number: where each part went. Made with `load`."""

    def __init__(self, store: Storage, storage_thread: StorageThread, message: Message) -> None:
        self.store = store
        self.storage_thread = storage_thread
        outbox_id = message.data.get("outbox_id")
        self.outbox_id: int | None = outbox_id if isinstance(outbox_id, int) else None
        self._sent: dict[int, str] = {}

    @classmethod
    async def load(cls, store: Storage, storage_thread: StorageThread, message: Message) -> SentParts:
        """What the outbox row says has gone already."""
        parts = cls(store, storage_thread, message)
        # Parts are recorded only during an attempt, and every claim counts one: on the first
        # attempt there is nothing to read, and no round trip is spent reading it.
        if parts.outbox_id is not None and message.data.get("attempt", 1) > 1:
            parts._sent = await storage_thread.run(store.outbox_parts, parts.outbox_id)
        return parts

    def sent(self, k: int) -> str | None:
        """Where part `k` went (channel:ts, an activity id), or None if it has not gone yet."""
        return self._sent.get(k)

    async def mark(self, k: int, ref: str) -> None:
        """Record at once that part `k` went; called straight after the platform accepts it."""
        self._sent[k] = ref
        if self.outbox_id is not None:
            await self.storage_thread.run(self.store.outbox_part_sent, self.outbox_id, k, ref)
