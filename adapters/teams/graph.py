"""Installing the Teams app for a person through Microsoft Graph, in the tenants whose admins granted
the bot TeamsAppInstallation.ReadWriteForUser.All, and finding the 1:1 chat the install opens.

An app-only token per tenant (client credentials, the bot's own app id and password), kept until
shortly before it expires; it never reaches a log or an error message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.outbox import DeliveryFailed

log = logging.getLogger("escalation_bot.teams")
GRAPH_TIMEOUT = 10.0
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# A token is renewed this long before Microsoft says it expires, so none expires mid-send.
TOKEN_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    expires_at: datetime


class GraphInstaller:
    """Installs the bot's Teams app for one person in a granted tenant and returns their chat id."""

    def __init__(
        self,
        *,
        app_id: str,
        app_password: str,
        catalog_app_ids: Mapping[str, str],
        login_url: str,
        graph_url: str,
        now: Callable[[], datetime],
        timeout: float = GRAPH_TIMEOUT,
    ) -> None:
        self._app_id = app_id
        self._app_password = app_password
        self._catalog = {t.lower(): i for t, i in catalog_app_ids.items()}
        self._login_url = login_url.rstrip("/")
        self._graph_url = graph_url.rstrip("/")
        self._now = now
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._tokens: dict[str, _Token] = {}
        self._session: aiohttp.ClientSession | None = None

    def grants(self, tenant: str | None) -> bool:
        """True where the tenant's admin let the bot install its app for people."""
        return bool(tenant) and tenant.lower() in self._catalog

    async def personal_chat(self, tenant: str, user_id: str) -> str:
        """Install the app for the user (already installed is fine); their 1:1 chat id with the bot."""
        tenant = tenant.lower()
        catalog_id = self._catalog[tenant]
        apps = f"{self._graph_url}/v1.0/users/{quote(user_id, safe='')}/teamwork/installedApps"
        bind = {"teamsApp@odata.bind": f"{self._graph_url}/v1.0/appCatalogs/teamsApps/{catalog_id}"}
        status, _ = await self._graph(tenant, "POST", apps, json=bind)
        if status == 409:
            log.info("Teams: the app was already installed for a person in tenant %s", tenant)
        status, found = await self._graph(
            tenant, "GET", apps, params={"$expand": "teamsApp", "$filter": f"teamsApp/id eq '{catalog_id}'"}
        )
        installs = found.get("value") if isinstance(found.get("value"), list) else []
        installation = next((i.get("id") for i in installs if isinstance(i, dict) and i.get("id")), None)
        if not installation:
            # Graph can take a moment to show an install it just made: try again shortly.
            raise DeliveryFailed("the Teams app install is not visible in Graph yet", retry_after=30)
        _, chat = await self._graph(tenant, "GET", f"{apps}/{quote(str(installation), safe='')}/chat")
        chat_id = chat.get("id")
        if not isinstance(chat_id, str) or not chat_id:
            raise DeliveryFailed("Graph gave no chat for the Teams app install", retry_after=30)
        return chat_id

    async def close_async(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- HTTP ------------------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _token(self, tenant: str) -> str:
        cached = self._tokens.get(tenant)
        if cached is not None and self._now() < cached.expires_at - TOKEN_MARGIN:
            return cached.value
        form = {
            "grant_type": "client_credentials",
            "client_id": self._app_id,
            "client_secret": self._app_password,
            "scope": GRAPH_SCOPE,
        }
        url = f"{self._login_url}/{quote(tenant, safe='')}/oauth2/v2.0/token"
        try:
            async with self._client().post(url, data=form) as response:
                body = await _json(response)
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"Microsoft sign-in unreachable: {type(exc).__name__}") from None
        token = body.get("access_token")
        if status == 200 and isinstance(token, str) and token:
            lifetime = float(body.get("expires_in") or 3600)
            self._tokens[tenant] = _Token(token, self._now() + timedelta(seconds=lifetime))
            return token
        if status == 429 or status >= 500:
            raise _temporary("Microsoft sign-in", status, headers)
        # Most often the tenant's admin has not consented to the app, or its secret has expired:
        # no retry mends that, so the person is reached another way.
        log.warning(
            "Teams: tenant %s gave the bot no Graph token (%s %s)", tenant, status, _code(body, "error")
        )
        raise DeliveryFailed(f"no Graph token for the person's tenant ({status})", unreachable=True)

    async def _graph(
        self, tenant: str, method: str, url: str, *, json: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        token = await self._token(tenant)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self._client().request(
                method, url, json=json, params=params, headers=headers
            ) as response:
                body = await _json(response)
                status, answer_headers = response.status, response.headers
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"Microsoft Graph unreachable: {type(exc).__name__}") from None
        if status < 300 or (status == 409 and method == "POST"):
            return status, body
        if status == 401:
            # The token was revoked or has lapsed early: forget it, and the retry fetches another.
            self._tokens.pop(tenant, None)
            raise DeliveryFailed("Microsoft Graph did not accept the bot's token (401)")
        if status == 429 or status >= 500:
            raise _temporary("Microsoft Graph", status, answer_headers)
        # 403: the tenant has not granted the permission; 404: no such user, or the app is not in
        # that tenant's catalog. Either way Teams cannot reach this person: email can.
        log.warning(
            "Teams: Graph refused to install the app in tenant %s (%s %s)", tenant, status, _code(body)
        )
        raise DeliveryFailed(f"Microsoft Graph refused the app install ({status})", unreachable=True)


def _temporary(service: str, status: int, headers: Mapping[str, str]) -> DeliveryFailed:
    retry_after = headers.get("Retry-After")
    seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
    return DeliveryFailed(f"{service} failed for now ({status})", retry_after=seconds)


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _code(body: dict[str, Any], key: str = "") -> str:
    """The error code Microsoft gives (never its message, which may quote the request)."""
    if key:
        value = body.get(key)
    else:
        error = body.get("error")
        value = error.get("code") if isinstance(error, dict) else None
    return str(value)[:60] if isinstance(value, str) else ""
