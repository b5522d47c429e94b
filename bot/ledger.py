"""The record as commands change it: load an escalation, append its events, save its list row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.escalation import Escalation
from bot.stage_people import Directory
from bot.storage import Storage, StoredEvent


@dataclass
class Ledger:
    """What a command handler needs to change an escalation, and nothing more."""

    store: Storage
    clock: Clock

    def load(self, escalation_id: str) -> Escalation | None:
        events = self.store.events(escalation_id)
        return Escalation.from_events(events) if events else None

    def record(self, esc: Escalation, kind: str, actor: str, data: dict[str, Any]) -> None:
        """Append one event to the history and apply it to `esc`."""
        now = self.clock.now()
        seq = self.store.append_event(esc.id, at=now, kind=kind, actor=actor, data=data)
        esc.apply(StoredEvent(seq, esc.id, now, kind, actor, data))

    def save(self, esc: Escalation) -> None:
        """Bring the escalation's list row up to date with its state."""
        self.store.save_escalation(esc.row(self.clock.now(), self.store.person))

    @property
    def directory(self) -> Directory:
        return Directory(
            person=self.store.person,
            role_holders=self.store.role_holders,
            admins=self.store.admins,
        )
