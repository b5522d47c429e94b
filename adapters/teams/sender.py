"""Delivering core messages to Teams proactively: from a stored conversation reference, or a new
1:1 conversation created with the connector. Case cards are updated in place as things move on.

Each person is reached in their own Microsoft 365 tenant: through their own reference, or a chat
opened with the service URL and bot account learned from their tenant (never another's); where
their tenant's admin granted it, the bot installs its app for them through Microsoft Graph first.
"""

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
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from adapters.recipient import known_recipient
from adapters.sent_parts import SentParts
from adapters.storage_thread import StorageThread
from adapters.teams.cards import message_card, message_cards, text_parts
from adapters.teams.export import consent_attachments
from adapters.teams.graph import GraphInstaller
from bot.core import EscalationBot
from bot.errors import Refused
from bot.messages import Message, MessageKind, case_actions
from bot.outbox import DeliveryFailed
from bot.outgoing import may_mark_urgent
from bot.people import Person
from bot.settings import DEFAULT_TEAMS_SERVICE_URL

log = logging.getLogger("escalation_bot.teams")
PLATFORM = "teams"
CONNECTOR_TIMEOUT = 15.0


def card_kind(escalation_id: str) -> str:
    return f"card:{escalation_id}"


def save_reference(bot: EscalationBot, person_id: str, reference: ConversationReference) -> None:
    """Remember how to reach a person later (the 1:1 conversation with the bot), with its tenant."""
    bot.store.set_address(person_id, PLATFORM, json.dumps(_with_tenant(reference).serialize()), kind="dm")


def load_reference(bot: EscalationBot, person_id: str) -> ConversationReference | None:
    text = bot.store.address(person_id, PLATFORM, "dm")
    return ConversationReference().deserialize(json.loads(text)) if text else None


def reference_tenant(reference: ConversationReference) -> str | None:
    """The Microsoft 365 tenant a conversation belongs to."""
    conversation = reference.conversation
    if conversation is None:
        return None
    # botbuilder reads only "tenantID"; Teams sends "tenantId", which lands among the extras.
    extra = conversation.additional_properties or {}
    tenant = conversation.tenant_id or extra.get("tenantId") or extra.get("tenantID")
    return str(tenant).lower() if tenant else None


def _with_tenant(reference: ConversationReference) -> ConversationReference:
    """A copy that keeps its tenant when stored (botbuilder would drop Teams' "tenantId")."""
    tenant = reference_tenant(reference)
    copy = ConversationReference().deserialize(reference.serialize())
    if copy.conversation is not None and tenant:
        copy.conversation.tenant_id = tenant
    return copy


def remember_tenant(bot: EscalationBot, reference: ConversationReference) -> None:
    """Learn how the bot is reached in a tenant (its service URL and bot account there) from what
    the tenant sent, so a chat opened later for someone there goes through their tenant's own."""
    tenant = reference_tenant(reference)
    if not tenant or not reference.service_url:
        return
    learned = {
        "service_url": reference.service_url,
        "channel_id": reference.channel_id or "msteams",
        "bot": reference.bot.serialize() if reference.bot else None,
    }
    text = json.dumps(learned, sort_keys=True)
    if bot.store.tenant_address(PLATFORM, tenant) != text:
        bot.store.set_tenant_address(PLATFORM, tenant, text, now=bot.clock.now())


def backfill_tenants(bot: EscalationBot) -> None:
    """Learn each tenant from the references stored before tenants were kept (an upgrade): those
    references lost their tenant when stored, but the person's account records it."""
    for person_id, text in bot.store.addresses(PLATFORM, "dm"):
        reference = ConversationReference().deserialize(json.loads(text))
        person = bot.person(person_id)
        tenant = reference_tenant(reference) or (person.teams_tenant if person else None)
        if not tenant or reference.conversation is None:
            continue
        if bot.store.tenant_address(PLATFORM, tenant.lower()) is None:
            reference.conversation.tenant_id = tenant.lower()
            remember_tenant(bot, reference)


class TeamsSender:
    """Sends one core message to one person's 1:1 chat with the bot."""

    def __init__(
        self,
        adapter: CloudAdapter,
        bot: EscalationBot,
        storage_thread: StorageThread,
        *,
        app_id: str | None,
        tenant_id: str | None = None,
        timeout: float = CONNECTOR_TIMEOUT,
        installer: GraphInstaller | None = None,
        service_url: str = DEFAULT_TEAMS_SERVICE_URL,
    ) -> None:
        self.adapter = adapter
        self.bot = bot
        self.run = storage_thread.run  # every database step of a send: never on the event loop
        self.storage_thread = storage_thread
        self.app_id = app_id or ""
        # The tenant of someone whose tenant the directory does not say (a one-tenant deployment).
        self.tenant_id = tenant_id.lower() if tenant_id else None
        self.timeout = timeout
        self.installer = installer
        self.service_url = service_url

    async def send(self, message: Message) -> None:
        try:
            await asyncio.wait_for(self._send(message), timeout=self.timeout)
        except HttpOperationError as exc:
            raise _failure(exc) from None
        except (ClientRequestError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"Teams connector unreachable: {type(exc).__name__}") from None

    async def _send(self, message: Message) -> None:
        person = known_recipient(message.to) or await self.run(self.bot.person, message.to)
        if person is None:
            raise DeliveryFailed(f"{message.to} is not in the directory", permanent=True)
        reference = await self.run(self._reference, person) or await self._new_conversation(person)
        tenant = reference_tenant(reference) or self._tenant_of(person)
        contents = message_cards(message.text, message.actions)
        if message.data.get("export"):
            await self._send_export(reference, tenant, person.id, str(message.data["export"]))
            return
        if message.data.get("report"):
            await self._offer_report(reference, tenant, person.id, message)
            return

        failure: list[BaseException] = []

        async def deliver(turn: TurnContext) -> None:
            # The adapter's turn-error handler would swallow a failure (and tell the recipient
            # "something went wrong"): keep it here and raise it after, so the outbox retries.
            # Teams offers a bot no way to read back what it sent, so the activity id it returns
            # is recorded the moment it arrives: the one window left is between the two.
            try:
                parts = await SentParts.load(self.bot.store, self.storage_thread, message)
                for k, content in enumerate(contents):
                    if parts.sent(k):
                        continue
                    posted = await turn.send_activity(
                        _in_tenant(MessageFactory.attachment(CardFactory.adaptive_card(content)), tenant)
                    )
                    await parts.mark(k, getattr(posted, "id", None) or "sent")
            except Exception as exc:
                failure.append(exc)
                return
            if message.escalation_id is None:
                return
            first = parts.sent(0)
            if message.kind is MessageKind.CASE:
                if first and first != "sent":
                    kind = card_kind(message.escalation_id)
                    await self.run(self.bot.store.set_address, person.id, PLATFORM, first, kind=kind)
                return
            try:
                await self._refresh_case_card(turn, person.id, message.escalation_id)
            except Exception as exc:  # the message went; a stale card is not worth a resend
                log.warning("could not refresh a case card: %s", type(exc).__name__)

        await self.adapter.continue_conversation(reference, deliver, self.app_id)
        if failure:
            raise failure[0]

    async def _send_export(
        self, reference: ConversationReference, tenant: str | None, person_id: str, escalation_id: str
    ) -> None:
        """The record offered as files in the person's 1:1 chat (asked for in a channel)."""
        markdown = await self.run(self.bot.export, person_id, escalation_id)
        failure: list[BaseException] = []

        async def offer(turn: TurnContext) -> None:
            try:
                await turn.send_activity(
                    _in_tenant(
                        Activity(
                            type=ActivityTypes.message,
                            attachments=consent_attachments(escalation_id, markdown),
                        ),
                        tenant,
                    )
                )
            except Exception as exc:  # raised after the turn, so the outbox retries
                failure.append(exc)

        await self.adapter.continue_conversation(reference, offer, self.app_id)
        if failure:
            raise failure[0]

    async def _offer_report(
        self, reference: ConversationReference, tenant: str | None, person_id: str, message: Message
    ) -> None:
        """The monthly report: what it is, and Teams' file consent card to save it to OneDrive."""
        from adapters.report.chat import report_file, requested
        from adapters.teams.report import consent_attachment

        request = requested(message.data["report"])
        try:
            file = await self.run(report_file, self.bot, person_id, request)
        except Refused:
            raise DeliveryFailed("no longer an admin of the report's policy", permanent=True) from None
        failure: list[BaseException] = []

        async def offer(turn: TurnContext) -> None:
            try:
                for content in message_cards(message.text):
                    card = MessageFactory.attachment(CardFactory.adaptive_card(content))
                    await turn.send_activity(_in_tenant(card, tenant))
                activity = Activity(
                    type=ActivityTypes.message, attachments=[consent_attachment(request, file)]
                )
                await turn.send_activity(_in_tenant(activity, tenant))
            except Exception as exc:  # raised after the turn, so the outbox retries
                failure.append(exc)

        await self.adapter.continue_conversation(reference, offer, self.app_id)
        if failure:
            raise failure[0]

    async def _refresh_case_card(self, turn: TurnContext, person_id: str, escalation_id: str) -> None:
        """Update the person's case card in place, so it always shows where things stand."""
        fresh = await self.run(self._case_card, person_id, escalation_id)
        if fresh is None:
            return
        card_id, content = fresh
        update = Activity(
            id=card_id,
            type=ActivityTypes.message,
            attachments=[CardFactory.adaptive_card(content)],
        )
        await turn.update_activity(update)

    def _case_card(self, person_id: str, escalation_id: str) -> tuple[str, dict[str, Any]] | None:
        """The person's case card's id and what it shows now; None to leave it (in the storage
        thread)."""
        card_id = self.bot.store.address(person_id, PLATFORM, card_kind(escalation_id))
        esc = self.bot.load(escalation_id)
        if not card_id or esc is None or person_id not in esc.participants():
            return None
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
            return None  # too long for one card: a stale card beats a cut one (show sends it all)
        return card_id, message_card(text, actions)

    def _reference(self, person: Person) -> ConversationReference | None:
        """The person's own 1:1 conversation, if the bot has one in their tenant (in the storage
        thread)."""
        reference = load_reference(self.bot, person.id)
        if reference is None:
            return None
        tenant, theirs = reference_tenant(reference), (person.teams_tenant or "").lower()
        if tenant and theirs and tenant != theirs:
            return None  # a conversation in another tenant is not how to reach them now
        return reference

    def _tenant_of(self, person: Person) -> str | None:
        return (person.teams_tenant or "").lower() or self.tenant_id

    def _learned(self, tenant: str) -> dict[str, Any] | None:
        text = self.bot.store.tenant_address(PLATFORM, tenant)
        return json.loads(text) if text else None

    async def _new_conversation(self, person: Person) -> ConversationReference:
        """Open a 1:1 chat with someone the bot has not talked to yet, in their own tenant."""
        if not person.teams_id:
            raise DeliveryFailed("no Teams account known for this person", unreachable=True)
        tenant = self._tenant_of(person)
        if tenant is None:
            raise DeliveryFailed("the person's Microsoft 365 tenant is not known", unreachable=True)
        learned = await self.run(self._learned, tenant)
        if self.installer and self.installer.grants(tenant) and not person.teams_id.startswith("29:"):
            return await self._install_for(person, tenant, learned)
        if learned is None:
            raise DeliveryFailed(
                "nobody in the person's tenant has used the Teams app, and the bot may not install it there",
                unreachable=True,
            )
        member = ChannelAccount(id=person.teams_id)
        if not person.teams_id.startswith("29:"):
            member.aad_object_id = person.teams_id
        parameters = ConversationParameters(
            is_group=False,
            bot=_bot_account(learned, self.app_id),
            members=[member],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        created: dict[str, Any] = {}

        async def remember(turn: TurnContext) -> None:
            created["reference"] = TurnContext.get_conversation_reference(turn.activity)

        try:
            await self.adapter.create_conversation(
                self.app_id, remember, parameters, learned["channel_id"], learned["service_url"], None
            )
        except HttpOperationError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", 0) or 0
            if status in {403, 404}:
                # Teams opens a chat only with someone who has the app: they have not got it.
                raise DeliveryFailed(
                    f"the Teams app is not installed for the person ({status})", unreachable=True
                ) from None
            raise
        reference = created.get("reference")
        if reference is None:
            raise DeliveryFailed("the connector created no conversation")
        await self.run(save_reference, self.bot, person.id, reference)
        return reference

    async def _install_for(
        self, person: Person, tenant: str, learned: dict[str, Any] | None
    ) -> ConversationReference:
        """Install the app for the person through Graph, then reach them in the chat it opens."""
        assert self.installer is not None and person.teams_id
        chat_id = await self.installer.personal_chat(tenant, person.teams_id)
        # Teams also tells the bot of the install; if that has arrived, its reference is the best.
        arrived = await self.run(self._reference, person)
        if arrived is not None:
            return arrived
        reference = ConversationReference(
            channel_id=(learned or {}).get("channel_id") or "msteams",
            service_url=(learned or {}).get("service_url") or self.service_url,
            bot=_bot_account(learned, self.app_id),
            user=ChannelAccount(aad_object_id=person.teams_id),
            conversation=ConversationAccount(id=chat_id, tenant_id=tenant, conversation_type="personal"),
        )
        await self.run(save_reference, self.bot, person.id, reference)
        return reference


def _bot_account(learned: dict[str, Any] | None, app_id: str) -> ChannelAccount:
    """The bot's own account in a tenant: as learned there, else as Teams names every bot."""
    if learned and learned.get("bot"):
        return ChannelAccount().deserialize(learned["bot"])
    return ChannelAccount(id=f"28:{app_id}")


def _in_tenant(activity: Activity, tenant: str | None) -> Activity:
    """Address an outgoing activity to the conversation's own tenant, as Teams asks."""
    if tenant:
        activity.channel_data = {**(activity.channel_data or {}), "tenant": {"id": tenant}}
    return activity


def _failure(exc: HttpOperationError) -> DeliveryFailed:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", 0) or 0
    if status == 429:
        retry_after = (getattr(response, "headers", None) or {}).get("Retry-After")
        return DeliveryFailed("Teams rate limit (429)", retry_after=float(retry_after or 30))
    if status >= 500 or status == 0:
        return DeliveryFailed(f"Teams connector error ({status})")
    return DeliveryFailed(f"Teams refused the message ({status})", permanent=status in {400, 403, 404})
