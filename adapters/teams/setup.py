"""Wiring Teams into the server: botbuilder's CloudAdapter, configured by the Bot Framework's own
variable names, the activity handler and the proactive sender."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from adapters.teams.edge import bound_key_fetch
from adapters.teams.handler import TeamsBot, TeamsContext
from adapters.teams.sender import TeamsSender

log = logging.getLogger("escalation_bot.teams")


@dataclass(frozen=True)
class BotFrameworkConfig:
    """The attribute names botbuilder's configuration classes read."""

    APP_ID: str
    APP_PASSWORD: str = field(repr=False)
    APP_TYPE: str
    APP_TENANTID: str


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
        trusted_tenants=settings.trusted_tenants,
    )
    services.teams_adapter = adapter
    services.teams_bot = TeamsBot(ctx)
    services.teams_sender = TeamsSender(
        adapter, services.bot, app_id=settings.teams_app_id, tenant_id=settings.teams_tenant_id
    )
    services.delivery.add_platform("teams", services.teams_sender.send)
