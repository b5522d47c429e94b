"""A local fake of Microsoft's sign-in (client credentials) and of Microsoft Graph's Teams app
installation for users: a real aiohttp server on 127.0.0.1 that issues tokens per tenant, records
every call, installs apps for the users it knows, and can be told to fail."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

APP_ID = "00000000-0000-0000-0000-0000000000a1"
APP_PASSWORD = "s3cret-app-password"


@dataclass
class Call:
    method: str
    path: str
    tenant: str | None  # whose token it carried (or asked for)
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class GraphFailure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "Forbidden"


class FakeGraph:
    def __init__(self, users: dict[str, str], *, catalog: dict[str, str]) -> None:
        """`users`: AAD object id -> tenant; `catalog`: tenant -> the app's catalog id there."""
        self.users = users
        self.catalog = catalog
        self.calls: list[Call] = []
        self.tokens_issued: list[str] = []  # the tenant of each token
        self.installed: dict[str, str] = {}  # user -> installation id
        self.failures: list[GraphFailure] = []
        self.token_failures: list[GraphFailure] = []
        self.token_lifetime = 3600
        # Called after an install, as Teams then tells the bot (an installationUpdate activity).
        self.on_install: Callable[[str, str], Awaitable[None]] | None = None
        self._tokens: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def fail(self, *failures: GraphFailure) -> None:
        """The next Graph calls fail in this order."""
        self.failures.extend(failures)

    def chat_id(self, user: str) -> str:
        return f"19:{user}_bot@unq.gbl.spaces"

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_post("/v1.0/users/{user}/teamwork/installedApps", self._install)
        app.router.add_get("/v1.0/users/{user}/teamwork/installedApps", self._list)
        app.router.add_get("/v1.0/users/{user}/teamwork/installedApps/{installation}/chat", self._chat)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def installs(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path.endswith("/installedApps")]

    # -- sign-in -------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        tenant = request.match_info["tenant"]
        asked = {k: v for k, v in form.items() if k != "client_secret"}
        self.calls.append(Call("POST", request.path, tenant, asked))
        if self.token_failures:
            failure = self.token_failures.pop(0)
            return web.json_response({"error": failure.code}, status=failure.status, headers=failure.headers)
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != APP_ID
            or form.get("client_secret") != APP_PASSWORD
            or form.get("scope") != "https://graph.microsoft.com/.default"
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"graph-token-{next(self._ids)}"
        self._tokens[token] = tenant
        self.tokens_issued.append(tenant)
        lifetime = self.token_lifetime
        return web.json_response({"token_type": "Bearer", "expires_in": lifetime, "access_token": token})

    # -- Graph ---------------------------------------------------------------------------------

    def _check(self, request: web.Request, body: Any = None) -> tuple[str | None, web.Response | None]:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        tenant = self._tokens.get(token)
        self.calls.append(Call(request.method, request.path, tenant, body, dict(request.query)))
        if tenant is None:
            return None, _error(401, "InvalidAuthenticationToken")
        if self.failures:
            failure = self.failures.pop(0)
            return tenant, _error(failure.status, failure.code, failure.headers)
        # A token is good only in its own tenant: a user elsewhere is not found.
        if self.users.get(request.match_info["user"]) != tenant:
            return tenant, _error(404, "NotFound")
        return tenant, None

    async def _install(self, request: web.Request) -> web.Response:
        body = await request.json()
        tenant, refused = self._check(request, body)
        if refused:
            return refused
        user = request.match_info["user"]
        bind = str(body.get("teamsApp@odata.bind") or "")
        if bind != f"{self.url}/v1.0/appCatalogs/teamsApps/{self.catalog.get(tenant or '')}":
            return _error(404, "NotFound")
        if user in self.installed:
            return _error(409, "Conflict")
        self.installed[user] = f"inst-{user}"
        if self.on_install is not None:
            await self.on_install(tenant or "", user)
        return web.Response(status=201)

    async def _list(self, request: web.Request) -> web.Response:
        tenant, refused = self._check(request)
        if refused:
            return refused
        user = request.match_info["user"]
        wanted = f"teamsApp/id eq '{self.catalog.get(tenant or '')}'"
        if user not in self.installed or request.query.get("$filter") != wanted:
            return web.json_response({"value": []})
        app = {"id": self.catalog[tenant or ""], "externalId": "manifest-id", "displayName": "Escalation bot"}
        return web.json_response({"value": [{"id": self.installed[user], "teamsApp": app}]})

    async def _chat(self, request: web.Request) -> web.Response:
        _, refused = self._check(request)
        if refused:
            return refused
        user = request.match_info["user"]
        if self.installed.get(user) != request.match_info["installation"]:
            return _error(404, "NotFound")
        return web.json_response({"id": self.chat_id(user), "chatType": "oneOnOne"})


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": "refused"}}, status=status, headers=headers)
