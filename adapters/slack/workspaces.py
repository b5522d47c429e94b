"""Which token acts in which Slack workspace: each installation's own, and SLACK_BOT_TOKEN in the
workspace it belongs to (or, with no OAuth set up, everywhere: the single-workspace deployment)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import web_client
from adapters.storage_thread import StorageThread
from bot.outbox import DeliveryFailed
from bot.people import Person
from bot.storage import SlackInstallation, Storage

log = logging.getLogger("escalation_bot.slack")
# What Slack answers when a workspace does not know a user id or an email address.
NOT_HERE = {"user_not_found", "users_not_found"}


class NoWorkspace(LookupError):
    """The bot has no token for this workspace: it was never installed there, or was removed."""


class Workspaces:
    """A Web API client for each workspace, from its installation's bot token (or SLACK_BOT_TOKEN
    for its own workspace); with `multi` off, the one client serves every request."""

    def __init__(
        self,
        store: Storage,
        base: AsyncWebClient,
        storage_thread: StorageThread,
        *,
        token: str | None,
        multi: bool,
    ) -> None:
        self.store = store
        self.storage_thread = storage_thread
        self.base = base  # the API address and timeout every client shares
        self.token = token
        self.multi = multi
        self._clients: dict[str, AsyncWebClient] = {}
        self._own: dict[str, Any] | None = None  # SLACK_BOT_TOKEN's auth.test answer

    def _client(self, token: str) -> AsyncWebClient:
        client = self._clients.get(token)
        if client is None:
            client = web_client(
                token, base_url=self.base.base_url, timeout=self.base.timeout, session=self.base.session
            )
            self._clients[token] = client
        return client

    async def token_identity(self) -> dict[str, Any]:
        """Slack's auth.test answer for SLACK_BOT_TOKEN (its workspace and bot), asked once."""
        if not self.token:
            return {}
        if self._own is None:
            answer = await self._client(self.token).auth_test()
            self._own = dict(answer.data) if isinstance(answer.data, dict) else {}
        return self._own

    async def token_team(self) -> str | None:
        """The workspace SLACK_BOT_TOKEN belongs to."""
        return (await self.token_identity()).get("team_id")

    async def client(self, team: str | None) -> AsyncWebClient:
        """The client that acts in `team`; raises NoWorkspace where the bot has no token."""
        if not self.multi:
            return self.base
        installation = await self.installation(team)
        if installation is not None:
            return self._client(installation.bot_token)
        if self.token and (team is None or team == await self.token_team()):
            return self._client(self.token)
        raise NoWorkspace(team)

    async def installation(self, team: str | None) -> SlackInstallation | None:
        """The bot's installation in `team`, if it has one."""
        return await self.storage_thread.run(self.store.slack_installation, team) if team else None

    async def _remember(self, person: Person) -> None:
        await self.storage_thread.run(self.store.upsert_people, [person], with_roles=False)

    async def teams(self) -> list[tuple[str, AsyncWebClient]]:
        """Every workspace the bot can act in, SLACK_BOT_TOKEN's first (the directory may predate
        the other installations), then by installation."""
        found: list[tuple[str, AsyncWebClient]] = []
        own = await self.token_team()
        if own and self.token:
            found.append((own, self._client(self.token)))
        for installation in await self.storage_thread.run(self.store.slack_installations):
            if installation.team_id != own:
                found.append((installation.team_id, self._client(installation.bot_token)))
        return found

    async def reach(self, person: Person) -> tuple[AsyncWebClient, str]:
        """The client for a person's workspace and their user id there, recording what was found.
        Raises DeliveryFailed(unreachable) where Slack has no way to reach them."""
        if not self.multi:
            user_id = person.slack_id or await _by_email(self.base, person.email)
            if user_id is None:
                raise DeliveryFailed("no Slack account found for this person", unreachable=True)
            if user_id != person.slack_id:
                await self._remember(replace(person, slack_id=user_id))
            return self.base, user_id
        if person.slack_team:
            try:
                client = await self.client(person.slack_team)
            except NoWorkspace:
                raise DeliveryFailed(
                    "the bot is not installed in this person's Slack workspace", unreachable=True
                ) from None
            user_id = person.slack_id or await _by_email(client, person.email)
            if user_id is None:
                raise DeliveryFailed("no Slack account found for this person", unreachable=True)
            if user_id != person.slack_id:
                await self._remember(replace(person, slack_id=user_id))
            return client, user_id
        # The workspace is not known yet (a directory from before there were several): ask each
        # workspace in turn who this is, and remember the one that knows them.
        for team, client in await self.teams():
            if person.slack_id:
                user_id = person.slack_id if await _knows(client, person.slack_id) else None
            else:
                user_id = await _by_email(client, person.email)
            if user_id:
                await self._remember(replace(person, slack_id=user_id, slack_team=team))
                return client, user_id
        raise DeliveryFailed("no Slack workspace the bot is installed in knows this person", unreachable=True)

    def authorize(self) -> InstalledWorkspaces:
        return InstalledWorkspaces(self)


class InstalledWorkspaces(AsyncAuthorize):
    """Bolt's authorization for each request, by its workspace: the installation's bot, or
    SLACK_BOT_TOKEN's in its own workspace; anything else is refused."""

    def __init__(self, workspaces: Workspaces) -> None:
        self.workspaces = workspaces

    async def __call__(self, *, context, enterprise_id, team_id, user_id, **_: Any) -> AuthorizeResult | None:
        # Before the acknowledgement, as bolt authorizes every request: the workspace's token is
        # in the database, read in the storage thread.
        installation = await self.workspaces.installation(team_id)
        if installation is not None:
            return AuthorizeResult(
                enterprise_id=installation.enterprise_id,
                team_id=installation.team_id,
                team=installation.team_name,
                bot_id=installation.bot_id,
                bot_user_id=installation.bot_user_id,
                bot_token=installation.bot_token,
                bot_scopes=installation.bot_scopes,
            )
        try:
            own = await self.workspaces.token_identity()
        except (SlackApiError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("Slack: could not learn SLACK_BOT_TOKEN's workspace (%s)", type(exc).__name__)
            return None
        if not team_id or own.get("team_id") != team_id:
            log.info("Slack: refused a request from a workspace the bot is not installed in")
            return None
        token = self.workspaces.token
        return AuthorizeResult.from_auth_test_response(auth_test_response=own, bot_token=token)


async def _by_email(client: AsyncWebClient, email: str | None) -> str | None:
    """The user id of whoever has this email address in the client's workspace."""
    if not email:
        return None
    try:
        response = await client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_HERE:
            return None
        raise
    return (response.get("user") or {}).get("id")


async def _knows(client: AsyncWebClient, user_id: str) -> bool:
    """Whether the client's workspace knows this user id."""
    try:
        await client.users_info(user=user_id)
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_HERE:
            return False
        raise
    return True
