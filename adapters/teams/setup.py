"""Wiring Teams into the server: botbuilder's CloudAdapter, configured by the Bot Framework's own
variable names, the activity handler and the proactive sender."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from adapters.teams.edge import bound_key_fetch
from adapters.teams.graph import GraphInstaller
from adapters.teams.handler import TeamsBot, TeamsContext
from adapters.teams.incoming import TeamsIncoming
from adapters.teams.sender import TeamsSender, backfill_tenants
from bot.settings import Settings

log = logging.getLogger("escalation_bot.teams")


@dataclass(frozen=True)
class BotFrameworkConfig:
    """The attribute names botbuilder's configuration classes read."""

    APP_ID: str
    APP_PASSWORD: str = field(repr=False)
    APP_TYPE: str
    APP_TENANTID: str


def build_installer(settings: Settings, now: Callable[[], datetime]) -> GraphInstaller | None:
    """The Graph installer for the tenants that granted it (TEAMS_GRAPH_INSTALL_TENANTS), if any."""
    if not settings.graph_install_tenants:
        return None
    return GraphInstaller(
        app_id=settings.teams_app_id or "",
        app_password=settings.teams_app_password or "",
        catalog_app_ids=settings.catalog_app_ids(),
        login_url=settings.teams_login_url,
        graph_url=settings.teams_graph_url,
        now=now,
    )


def build_teams(services) -> None:
    """Add Teams to the services: inbound activities, and a sender for proactive messages."""
    settings = services.settings
    config = BotFrameworkConfig(
        APP_ID=settings.teams_app_id or "",
        APP_PASSWORD=settings.teams_app_password or "",
        APP_TYPE=settings.teams_app_type or "MultiTenant",
        APP_TENANTID=settings.teams_tenant_id or "",
    )
    bound_key_fetch()
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))

    async def on_error(turn: TurnContext, error: Exception) -> None:
        # Never the activity's text: it may hold a concern about a child.
        # Where it failed, for the admin; the logging setup withholds the exception's message.
        log.error("Teams turn failed: %s", type(error).__name__, exc_info=error)
        try:
            await turn.send_activity(
                "Sorry, something went wrong. Nothing already recorded is lost; please try again."
            )
        except Exception as exc:  # the connector itself may be what failed
            log.warning("Teams: could not say so in the conversation (%s)", type(exc).__name__)

    adapter.on_turn_error = on_error
    ctx = TeamsContext(
        bot=services.bot,
        default_policy=settings.default_policy,
        on_queued=services.loop.poke,
        storage_thread=services.storage_thread,
        trusted_tenants=settings.trusted_tenants,
    )
    services.teams_adapter = adapter
    services.teams_bot = TeamsBot(ctx)
    services.teams_incoming = TeamsIncoming(
        adapter,
        services.teams_bot,
        app_id=settings.teams_app_id or "",
        store=services.bot.store,
        clock=services.bot.clock,
        storage_thread=services.storage_thread,
        acks=services.acks,
    )
    services.loop.inboxes.append(services.teams_incoming.inbox)
    installer = build_installer(settings, services.bot.clock.now)
    if installer is not None:
        services.extras.append(installer)
        log.info("Teams: may install the app for people in %d tenant(s)", len(settings.graph_install_tenants))
    trusted = sorted(settings.trusted_tenants)
    services.teams_sender = TeamsSender(
        adapter,
        services.bot,
        services.storage_thread,
        app_id=settings.teams_app_id,
        # Someone whose tenant the directory does not say is in the bot's own (or the only) tenant.
        tenant_id=settings.teams_tenant_id or (trusted[0] if len(trusted) == 1 else None),
        installer=installer,
        service_url=settings.teams_service_url,
    )
    backfill_tenants(services.bot)
    services.delivery.add_platform("teams", services.teams_sender.send)
