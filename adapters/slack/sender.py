"""Delivering core messages through the Slack Web API; failures become retries, not losses."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.recipient import known_recipient
from adapters.sent_parts import SentParts
from adapters.slack.blocks import message_payloads
from adapters.slack.workspaces import Workspaces
from adapters.storage_thread import StorageThread
from bot.messages import Message, MessageKind
from bot.outbox import DeliveryFailed
from bot.storage import Storage

log = logging.getLogger("escalation_bot.slack")
PLATFORM = "slack"
METADATA_EVENT = "escalation_bot_message"
# How far back (seconds before it was queued) to look for a message that may have gone already,
# allowing for the difference between our clock and Slack's; and at most how many pages.
LOOKBACK_SECONDS = 600
LOOK_PAGES = 5
# Refusals of the look itself that no retry will mend: then we send rather than wait forever.
LOOK_REFUSALS = {"missing_scope", "not_allowed_token_type", "thread_not_found", "channel_not_found"}
# Errors that no retry will mend: the message is reported to whoever caused it instead.
PERMANENT = {
    "channel_not_found",
    "user_not_found",
    "users_not_found",
    "user_disabled",
    "cannot_dm_bot",
    "is_archived",
    "account_inactive",
    "msg_too_long",
    "invalid_blocks",
}

# A workspace's token refused: the bot was uninstalled there, or its token revoked.
REMOVED = {"token_revoked", "invalid_auth", "account_inactive", "not_authed"}


def thread_kind(escalation_id: str) -> str:
    return f"thread:{escalation_id}"


def split_ref(ref: str) -> tuple[str, str]:
    channel, _, ts = ref.partition(":")
    return channel, ts


class SlackSender:
    """Sends one core message, in the recipient's workspace with that workspace's token: a case
    message starts a thread; notices go into it."""

    def __init__(self, workspaces: Workspaces, store: Storage, storage_thread: StorageThread) -> None:
        self.workspaces = workspaces
        self.store = store
        self.storage_thread = storage_thread

    async def send(self, message: Message) -> None:
        person = known_recipient(message.to) or await self.storage_thread.run(self.store.person, message.to)
        if person is None:
            raise DeliveryFailed(f"{message.to} is not in the directory", permanent=True)
        try:
            client, user_id = await self.workspaces.reach(person)
            await _Delivery(client, self.store, self.storage_thread, person.id, user_id).send(message)
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            if self.workspaces.multi and error in REMOVED:
                # The workspace has removed the bot: Slack has no way to reach this person now.
                raise DeliveryFailed(f"Slack refused: {error}", unreachable=True) from None
            raise _failure(exc) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryFailed(f"Slack unreachable: {type(exc).__name__}") from None


class _Delivery:
    """One message to one person, through the client of their workspace."""

    def __init__(
        self,
        client: AsyncWebClient,
        store: Storage,
        storage_thread: StorageThread,
        person_id: str,
        user_id: str,
    ) -> None:
        self.client = client
        self.store = store
        self.storage_thread = storage_thread
        self.person_id = person_id
        self.user_id = user_id

    async def send(self, message: Message) -> None:
        note_ref = message.data.get("note_ref")
        if message.kind is MessageKind.REPLY and note_ref:
            channel, ts = split_ref(note_ref)
            try:
                await self.client.reactions_add(channel=channel, timestamp=ts, name="white_check_mark")
            except SlackApiError as exc:
                if exc.response.get("error") != "already_reacted":
                    raise
            if not message.actions:
                return
            # The tick says it was recorded; the one-tap buttons follow in the thread.
        user_id = self.user_id
        if message.data.get("file"):
            opened = await self.client.conversations_open(users=user_id)
            await self.client.files_upload_v2(
                channel=opened["channel"]["id"],
                content=message.text,
                filename=message.data["file"],
                title=message.data["file"],
                initial_comment=message.data.get("comment")
                or f"The case record of {message.escalation_id}, for the child's file.",
            )
            return
        payloads = message_payloads(message)
        parts = await SentParts.load(self.store, self.storage_thread, message)
        # An earlier try may have reached Slack without our record of it (a stop, a lost answer):
        # look for it by its outbox id before sending anything again.
        looking = message.data.get("attempt", 1) > 1 and parts.outbox_id is not None
        since = float(message.data.get("queued_at") or 0) - LOOKBACK_SECONDS

        async def post(k: int, channel: str, thread_ts: str | None, broadcast: bool = False) -> str:
            posted = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                reply_broadcast=broadcast,
                metadata=_metadata(parts.outbox_id, k),
                **payloads[k],
            )
            ref = f"{posted['channel']}:{posted['ts']}"
            await parts.mark(k, ref)
            return ref

        thread = (
            await self.storage_thread.run(
                self.store.address, self.person_id, PLATFORM, thread_kind(message.escalation_id)
            )
            if message.escalation_id and message.in_thread
            else None
        )
        if thread:
            channel, ts = split_ref(thread)
            if looking:
                await self._look_for(parts, len(payloads), channel, ts, since)
            for k in range(len(payloads)):
                if not parts.sent(k):
                    shown = message.kind is MessageKind.REMINDER or bool(message.data.get("broadcast"))
                    await post(k, channel, ts, broadcast=shown and k == 0)
            return
        if looking and not parts.sent(0):
            opened = await self.client.conversations_open(users=user_id)
            await self._look_for(parts, 1, opened["channel"]["id"], None, since)
        first = parts.sent(0) or await post(0, user_id, None)
        if message.kind is MessageKind.CASE and message.escalation_id:
            kind = thread_kind(message.escalation_id)
            await self.storage_thread.run(self.store.set_address, self.person_id, PLATFORM, first, kind=kind)
        # The rest of a long message follows: under a case message, in its thread.
        channel, ts = split_ref(first)
        under = ts if message.kind is MessageKind.CASE else None
        if looking and len(payloads) > 1:
            await self._look_for(parts, len(payloads), channel, under, since)
        for k in range(1, len(payloads)):
            if not parts.sent(k):
                await post(k, channel, under)

    async def _look_for(
        self, parts: SentParts, count: int, channel: str, thread_ts: str | None, since: float
    ) -> None:
        """Mark as sent every part of this message already in the conversation (or thread)."""
        if all(parts.sent(k) for k in range(count)):
            return
        cursor = None
        try:
            for _ in range(LOOK_PAGES):
                where: dict[str, Any] = {
                    "channel": channel,
                    "oldest": f"{max(since, 0):.6f}",
                    "include_all_metadata": True,
                    "limit": 200,
                    "cursor": cursor,
                }
                page = await (
                    self.client.conversations_replies(ts=thread_ts, **where)
                    if thread_ts
                    else self.client.conversations_history(**where)
                )
                for found in page.get("messages") or []:
                    part = _our_part(found, parts.outbox_id)
                    if part is not None and part < count and not parts.sent(part):
                        await parts.mark(part, f"{channel}:{found['ts']}")
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor or all(parts.sent(k) for k in range(count)):
                    return
        except SlackApiError as exc:
            failure = _failure(exc)
            if not failure.permanent and exc.response.get("error") not in LOOK_REFUSALS:
                raise failure from None
            # Slack will not let us look (e.g. a missing scope): sending again risks a duplicate,
            # not sending risks a loss; a duplicate is the lesser harm.
            log.warning("could not look for an earlier send (%s); sending", exc.response.get("error"))


def _metadata(outbox_id: int | None, part: int) -> dict[str, Any] | None:
    """Slack message metadata naming the outbox message and part, and nothing of what it says."""
    if outbox_id is None:
        return None
    return {"event_type": METADATA_EVENT, "event_payload": {"outbox_id": outbox_id, "part": part}}


def sent_as(found: dict[str, Any]) -> tuple[int, int] | None:
    """(outbox id, part) of a message this bot posted, read from its metadata."""
    meta = found.get("metadata") or {}
    payload = meta.get("event_payload") or {}
    outbox_id, part = payload.get("outbox_id"), payload.get("part")
    if (
        meta.get("event_type") != METADATA_EVENT
        or not isinstance(outbox_id, int)
        or not isinstance(part, int)
    ):
        return None
    return outbox_id, part


def _our_part(found: dict[str, Any], outbox_id: int | None) -> int | None:
    meta = found.get("metadata") or {}
    payload = meta.get("event_payload") or {}
    if meta.get("event_type") != METADATA_EVENT or payload.get("outbox_id") != outbox_id:
        return None
    part = payload.get("part")
    return part if isinstance(part, int) and part >= 0 else None


def _failure(exc: SlackApiError) -> DeliveryFailed:
    status = getattr(exc.response, "status_code", 200)
    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
    if status == 429:
        retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        return DeliveryFailed("Slack rate limit (429)", retry_after=float(retry_after or 30))
    if status >= 500:
        return DeliveryFailed(f"Slack server error ({status})")
    return DeliveryFailed(f"Slack refused: {error or status}", permanent=error in PERMANENT)
