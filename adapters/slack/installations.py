"""Slack's OAuth stores on our database: the bot's installation in each workspace, and the
one-time `state` values that tie an installer's browser to the flow it started."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from adapters.storage_thread import StorageThread
from bot.clock import Clock
from bot.storage import SlackInstallation, Storage

log = logging.getLogger("escalation_bot.slack")
# Bolt's default: an install link is good for ten minutes.
STATE_LIFETIME = timedelta(minutes=10)


class StoredInstallations(AsyncInstallationStore):
    """Bot installations, one per workspace (a reinstall replaces the last). The bot needs no user
    tokens, so only the bot's part of an installation is kept."""

    def __init__(self, store: Storage, storage_thread: StorageThread, clock: Clock) -> None:
        self.store = store
        self.storage_thread = storage_thread
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        if not installation.bot_token or not installation.team_id:
            # An org-wide (Enterprise Grid) install has no workspace, and a user-only one no bot.
            raise BoltError("only installations of the bot into one workspace are supported")
        if installation.bot_refresh_token:
            # A rotating token expires within hours and this bot does not refresh it.
            raise BoltError("token rotation is not supported; turn it off in the app's settings")
        await self.storage_thread.run(
            self.store.save_slack_installation,
            SlackInstallation(
                team_id=installation.team_id,
                bot_token=installation.bot_token,
                team_name=installation.team_name,
                enterprise_id=installation.enterprise_id,
                app_id=installation.app_id,
                bot_id=installation.bot_id,
                bot_user_id=installation.bot_user_id,
                bot_scopes=",".join(installation.bot_scopes or []),
                installer=installation.user_id,
            ),
            now=self.clock.now(),
        )
        log.info("Slack: installed in workspace %s", installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await self.async_save(
            Installation(
                app_id=bot.app_id,
                enterprise_id=bot.enterprise_id,
                team_id=bot.team_id,
                team_name=bot.team_name,
                bot_token=bot.bot_token,
                bot_id=bot.bot_id,
                bot_user_id=bot.bot_user_id,
                bot_scopes=bot.bot_scopes,
                bot_refresh_token=bot.bot_refresh_token,
                user_id="",
            )
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        # The workspace's one installation holds the bot's part: bolt asks for it as a Bot.
        found = await self.async_find_installation(enterprise_id=enterprise_id, team_id=team_id)
        return found.to_bot() if found is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self.storage_thread.run(self.store.slack_installation, team_id) if team_id else None
        if found is None:
            return None
        return Installation(
            app_id=found.app_id,
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            team_name=found.team_name,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
            bot_scopes=found.bot_scopes or "",
            user_id=found.installer or "",
            installed_at=found.installed_at.timestamp() if found.installed_at else None,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        if team_id:
            await self.storage_thread.run(self.store.delete_slack_installation, team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if team_id and user_id is None:
            await self.storage_thread.run(self.store.delete_slack_installation, team_id)


class StoredStates(AsyncOAuthStateStore):
    """OAuth states: random, kept until used once or until they expire."""

    def __init__(
        self,
        store: Storage,
        storage_thread: StorageThread,
        clock: Clock,
        lifetime: timedelta = STATE_LIFETIME,
    ) -> None:
        self.store = store
        self.storage_thread = storage_thread
        self.clock = clock
        self.lifetime = lifetime

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args, **kwargs) -> str:
        state = secrets.token_urlsafe(32)
        expires_at = self.clock.now() + self.lifetime
        await self.storage_thread.run(self.store.add_oauth_state, state, expires_at=expires_at)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state:
            return False
        return await self.storage_thread.run(self.store.consume_oauth_state, state, now=self.clock.now())
