"""Delivering core messages to Teams proactively: from a stored conversation reference, or a new
1:1 conversation created with the connector. Case cards are updated in place as things move on."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from adapters.sent_parts import SentParts
from adapters.teams.cards import message_card, message_cards, text_parts
from adapters.teams.export import consent_attachments
from bot.core import EscalationBot
from bot.messages import Message, MessageKind, case_actions
from bot.outbox import DeliveryFailed
from bot.outgoing import may_mark_urgent

log = logging.getLogger("escalation_bot.teams")
PLATFORM = "teams"
CONNECTOR_TIMEOUT = 15.0


def card_kind(escalation_id: str) -> str:
    return f"card:{escalation_id}"


def save_reference(bot: EscalationBot, person_id: str, reference: ConversationReference) -> None:
    """Remember how to reach a person later (the 1:1 conversation with the bot)."""
    bot.store.set_address(person_id, PLATFORM, json.dumps(reference.serialize()), kind="dm")


def load_reference(bot: EscalationBot, person_id: str) -> ConversationReference | None:
    text = bot.store.address(person_id, PLATFORM, "dm")
    return ConversationReference().deserialize(json.loads(text)) if text else None


class TeamsSender:
    """Sends one core message to one person's 1:1 chat with the bot."""

    def __init__(
        self,
        adapter: CloudAdapter,
        bot: EscalationBot,
        *,
        app_id: str | None,
        tenant_id: str | None = None,
        timeout: float = CONNECTOR_TIMEOUT,
    ) -> None:
        self.adapter = adapter
        self.bot = bot
        self.app_id = app_id or ""
        self.tenant_id = tenant_id
        self.timeout = timeout

    async def send(self, message: Message) -> None:
        try:
            await asyncio.wait_for(self._send(message), timeout=self.timeout)
        except HttpOperationError as exc:
            raise _failure(exc) from None
        except (ClientRequestError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"Teams connector unreachable: {type(exc).__name__}") from None

    async def _send(self, message: Message) -> None:
        person = self.bot.person(message.to)
        if person is None:
            raise DeliveryFailed(f"{message.to} is not in the directory", permanent=True)
        reference = load_reference(self.bot, person.id) or await self._new_conversation(person)
        contents = message_cards(message.text, message.actions)
        if message.data.get("export"):
            await self._send_export(reference, person.id, str(message.data["export"]))
            return

        failure: list[BaseException] = []

        async def deliver(turn: TurnContext) -> None:
            # The adapter's turn-error handler would swallow a failure (and tell the recipient
            # "something went wrong"): keep it here and raise it after, so the outbox retries.
            # Teams offers a bot no way to read back what it sent, so the activity id it returns
            # is recorded the moment it arrives: the one window left is between the two.
            parts = SentParts(self.bot.store, message)
            try:
                for k, content in enumerate(contents):
                    if parts.sent(k):
                        continue
                    posted = await turn.send_activity(
                        MessageFactory.attachment(CardFactory.adaptive_card(content))
                    )
                    parts.mark(k, getattr(posted, "id", None) or "sent")
            except Exception as exc:
                failure.append(exc)
                return
            if message.escalation_id is None:
                return
            first = parts.sent(0)
            if message.kind is MessageKind.CASE:
                if first and first != "sent":
                    self.bot.store.set_address(
                        person.id, PLATFORM, first, kind=card_kind(message.escalation_id)
                    )
                return
            try:
                await self._refresh_case_card(turn, person.id, message.escalation_id)
            except Exception as exc:  # the message went; a stale card is not worth a resend
                log.warning("could not refresh a case card: %s", type(exc).__name__)

        await self.adapter.continue_conversation(reference, deliver, self.app_id)
        if failure:
            raise failure[0]

    async def _send_export(
        self, reference: ConversationReference, person_id: str, escalation_id: str
    ) -> None:
        """The record offered as files in the person's 1:1 chat (asked for in a channel)."""
        markdown = self.bot.export(person_id, escalation_id)
        failure: list[BaseException] = []

        async def offer(turn: TurnContext) -> None:
            try:
                await turn.send_activity(
                    Activity(
                        type=ActivityTypes.message, attachments=consent_attachments(escalation_id, markdown)
                    )
                )
            except Exception as exc:  # raised after the turn, so the outbox retries
                failure.append(exc)

        await self.adapter.continue_conversation(reference, offer, self.app_id)
        if failure:
            raise failure[0]

    async def _refresh_case_card(self, turn: TurnContext, person_id: str, escalation_id: str) -> None:
        """Update the person's case card in place, so it always shows where things stand."""
        card_id = self.bot.store.address(person_id, PLATFORM, card_kind(escalation_id))
        esc = self.bot.load(escalation_id)
        if not card_id or esc is None or person_id not in esc.participants():
            return
        actions = (
            case_actions(
                esc.id,
                final_stage=esc.at_final_stage,
                raiser=esc.side_of(person_id) == "raising",
                may_mark_urgent=may_mark_urgent(esc),
            )
            if esc.is_open
            else ()
        )
        status = "" if esc.is_open else f"\nStatus: {esc.status}."
        text = self.bot.show(person_id, esc.id) + status
        if len(text_parts(text)) > 1:
            return  # too long for one card: a stale card beats a cut one (show sends it all)
        fresh = message_card(text, actions)
        update = Activity(
            id=card_id,
            type=ActivityTypes.message,
            attachments=[CardFactory.adaptive_card(fresh)],
        )
        await turn.update_activity(update)

    async def _new_conversation(self, person) -> ConversationReference:
        """Open a 1:1 chat with someone the bot has not talked to yet."""
        if not person.teams_id:
            raise DeliveryFailed("no Teams account known for this person", unreachable=True)
        template = self._any_reference()
        if template is None:
            raise DeliveryFailed("the bot has no Teams conversation yet to learn the service address from")
        member = ChannelAccount(id=person.teams_id)
        if not person.teams_id.startswith("29:"):
            member.aad_object_id = person.teams_id
        tenant = self.tenant_id or (template.conversation.tenant_id if template.conversation else None)
        parameters = ConversationParameters(
            is_group=False,
            bot=template.bot,
            members=[member],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        created: dict[str, Any] = {}

        async def remember(turn: TurnContext) -> None:
            created["reference"] = TurnContext.get_conversation_reference(turn.activity)

        await self.adapter.create_conversation(
            self.app_id, remember, parameters, template.channel_id, template.service_url, None
        )
        reference = created.get("reference")
        if reference is None:
            raise DeliveryFailed("the connector created no conversation")
        save_reference(self.bot, person.id, reference)
        return reference

    def _any_reference(self) -> ConversationReference | None:
        text = self.bot.store.any_address(PLATFORM, "dm")
        return ConversationReference().deserialize(json.loads(text)) if text else None


def _failure(exc: HttpOperationError) -> DeliveryFailed:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", 0) or 0
    if status == 429:
        retry_after = (getattr(response, "headers", None) or {}).get("Retry-After")
        return DeliveryFailed("Teams rate limit (429)", retry_after=float(retry_after or 30))
    if status >= 500 or status == 0:
        return DeliveryFailed(f"Teams connector error ({status})")
    return DeliveryFailed(f"Teams refused the message ({status})", permanent=status in {400, 403, 404})
