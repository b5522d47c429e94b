"""Delivering core messages through the Slack Web API; failures become retries, not losses."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.sent_parts import SentParts
from adapters.slack.blocks import message_payloads
from adapters.slack.identity import slack_user_id
from bot.messages import Message, MessageKind
from bot.outbox import DeliveryFailed
from bot.storage import Storage

PLATFORM = "slack"
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


def thread_kind(escalation_id: str) -> str:
    return f"thread:{escalation_id}"


def split_ref(ref: str) -> tuple[str, str]:
    channel, _, ts = ref.partition(":")
    return channel, ts


class SlackSender:
    """Sends one core message: a case message starts a thread; notices go into it."""

    def __init__(self, client: AsyncWebClient, store: Storage) -> None:
        self.client = client
        self.store = store

    async def send(self, message: Message) -> None:
        try:
            await self._send(message)
        except SlackApiError as exc:
            raise _failure(exc) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryFailed(f"Slack unreachable: {type(exc).__name__}") from None

    async def _send(self, message: Message) -> None:
        note_ref = message.data.get("note_ref")
        if message.kind is MessageKind.REPLY and note_ref:
            channel, ts = split_ref(note_ref)
            try:
                await self.client.reactions_add(channel=channel, timestamp=ts, name="white_check_mark")
            except SlackApiError as exc:
                if exc.response.get("error") != "already_reacted":
                    raise
            return
        person = self.store.person(message.to)
        if person is None:
            raise DeliveryFailed(f"{message.to} is not in the directory", permanent=True)
        user_id = await slack_user_id(self.store, self.client, person)
        if user_id is None:
            raise DeliveryFailed("no Slack account found for this person", permanent=True)
        if message.data.get("file"):
            opened = await self.client.conversations_open(users=user_id)
            await self.client.files_upload_v2(
                channel=opened["channel"]["id"],
                content=message.text,
                filename=message.data["file"],
                title=message.data["file"],
                initial_comment=f"The case record of {message.escalation_id}, for the child's file.",
            )
            return
        payloads = message_payloads(message)
        parts = SentParts(self.store, PLATFORM, person.id, message, len(payloads))
        thread = (
            self.store.address(person.id, PLATFORM, thread_kind(message.escalation_id))
            if message.escalation_id and message.in_thread
            else None
        )
        if thread:
            channel, ts = split_ref(thread)
            for k, payload in enumerate(payloads):
                if parts.sent(k):
                    continue
                posted = await self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=ts,
                    reply_broadcast=message.kind is MessageKind.REMINDER and k == 0,
                    **payload,
                )
                parts.mark(k, f"{posted['channel']}:{posted['ts']}")
            return
        first = parts.sent(0)
        if first is None:
            response = await self.client.chat_postMessage(channel=user_id, **payloads[0])
            first = f"{response['channel']}:{response['ts']}"
            if message.kind is MessageKind.CASE and message.escalation_id:
                self.store.set_address(person.id, PLATFORM, first, kind=thread_kind(message.escalation_id))
            parts.mark(0, first)
        # The rest of a long message follows: under a case message, in its thread.
        channel, ts = split_ref(first)
        under = ts if message.kind is MessageKind.CASE else None
        for k, payload in enumerate(payloads[1:], start=1):
            if not parts.sent(k):
                posted = await self.client.chat_postMessage(channel=channel, thread_ts=under, **payload)
                parts.mark(k, f"{posted['channel']}:{posted['ts']}")


def _failure(exc: SlackApiError) -> DeliveryFailed:
    status = getattr(exc.response, "status_code", 200)
    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
    if status == 429:
        retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        return DeliveryFailed("Slack rate limit (429)", retry_after=float(retry_after or 30))
    if status >= 500:
        return DeliveryFailed(f"Slack server error ({status})")
    return DeliveryFailed(f"Slack refused: {error or status}", permanent=error in PERMANENT)
