"""A local fake of the Slack Web API: a real aiohttp server on 127.0.0.1 that records every call
and can be told to fail (429 with Retry-After, 5xx, or a slow answer).

It holds several workspaces: each bot token belongs to one (any other `xoxb-` token to T1), each
user to one (T1 unless the user says otherwise), and a call about a user of another workspace than
its token's is refused, as Slack refuses it. `grant` makes an OAuth code that oauth.v2.access
exchanges for a new workspace's bot token."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    response: dict[str, Any] = field(default_factory=dict)
    team: str | None = None  # the workspace of the token the call was made with


@dataclass
class Failure:
    """One scripted failure: an HTTP status, or (status 200) Slack's `ok: false` with `error`."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    error: str | None = None
    # Slack did the work, but the answer never arrived (a dropped connection, a stop).
    accepted: bool = False
    # The connection closed with no answer at all, not even a status.
    dropped: bool = False


class FakeSlack:
    """`await fake.start()` gives the base URL to use as SLACK_API_URL."""

    def __init__(self, users: dict[str, dict[str, Any]] | None = None) -> None:
        self.calls: list[Call] = []
        self.users = users or {}
        self.uploads: dict[str, bytes] = {}
        self.failures: dict[str, list[Failure]] = {}
        self.holds: dict[str, asyncio.Event] = {}
        self._ts = itertools.count(1)
        # Message timestamps come from this clock (seconds), so a test that moves the bot's clock
        # can move Slack's with it.
        self.clock: Callable[[], float] = time.time
        self.messages: list[dict[str, Any]] = []  # what the bot posted, as history returns it
        # A message is posted at once but its answer takes this long (seconds) to come back: the
        # window in which a stop leaves the bot not knowing that it went.
        self.answer_delay = 0.0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._changed = asyncio.Event()
        # Socket Mode: envelopes to push once the bot connects, and the bot's acknowledgements.
        self.socket_envelopes: list[dict[str, Any]] = []
        self.socket_replies: list[dict[str, Any]] = []
        # Workspaces: bot token -> team id; OAuth codes not yet exchanged; the app's credentials.
        self.tokens: dict[str, str] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.client_id = "app-client-id"
        self.client_secret = "app-client-secret"

    # -- control -------------------------------------------------------------------------------

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls of `method` fail in this order, then it works again."""
        self.failures.setdefault(method, []).extend(failures)

    def hold(self, method: str) -> asyncio.Event:
        """Calls of `method` are recorded, then wait for an answer until the test sets the event
        returned (Slack being slow, for exactly as long as the test needs)."""
        gate = self.holds[method] = asyncio.Event()
        return gate

    def grant(self, team_id: str, team_name: str, installer: str = "UINSTALLER") -> str:
        """An installer in `team_id` approved the app: the code Slack sends back to the redirect."""
        code = f"code-{team_id}-{next(self._ts)}"
        self.codes[code] = {"team": {"id": team_id, "name": team_name}, "installer": installer}
        return code

    def team_of(self, token: str) -> str:
        return self.tokens.get(token, "T1")

    def called(self, method: str, **match: Any) -> list[Call]:
        return [
            c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())
        ]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0, **match: Any) -> list[Call]:
        """Wait until `method` has been called `count` times (matching `match`)."""

        def enough() -> list[Call] | None:
            found = self.called(method, **match)
            return found if len(found) >= count else None

        def failure() -> str:
            made = [c.method for c in self.calls]
            return f"{method} called {len(self.called(method, **match))} times, wanted {count}; calls: {made}"

        return await self._until(enough, timeout, failure)

    async def posts_until(self, enough: Callable[[list[Call]], bool], timeout: float = 5.0) -> list[Call]:
        """Wait until the messages posted so far satisfy `enough`; return them."""

        def posted() -> list[Call] | None:
            calls = self.called("chat.postMessage")
            return calls if enough(calls) else None

        def failure() -> str:
            return (
                f"the {len(self.called('chat.postMessage'))} messages posted never satisfied the test's wait"
            )

        return await self._until(posted, timeout, failure)

    async def _until(
        self, ready: Callable[[], list[Call] | None], timeout: float, failure: Callable[[], str]
    ) -> list[Call]:
        """Wait, waking at each call made, until `ready()` returns calls; fail with `failure()`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (found := ready()) is None:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(failure())
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.1))
        return found

    def posts_to(self, user_or_channel: str) -> list[Call]:
        return [
            c
            for c in self.called("chat.postMessage")
            if c.args.get("channel") in {user_or_channel, dm(user_or_channel)}
        ]

    # -- server --------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/api/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        for envelope in self.socket_envelopes:
            await ws.send_json(envelope)
        async for frame in ws:
            if frame.type == web.WSMsgType.TEXT:
                self.socket_replies.append(json.loads(frame.data))
                self._changed.set()
        return ws

    @property
    def response_url(self) -> str:
        """Where a slash command's later answers go (Slack's response_url)."""
        return self.base_url.replace("/api/", "/response/1")

    def responses(self) -> list[dict[str, Any]]:
        """What the bot posted to response URLs, in order."""
        return [c.args for c in self.called("response_url")]

    async def _response(self, request: web.Request) -> web.Response:
        self.calls.append(Call("response_url", await request.json()))
        self._changed.set()
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key in ("blocks", "view", "files"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        call = Call(method, args)
        self.calls.append(call)
        self._changed.set()
        if method in self.holds:
            await self.holds[method].wait()
        pending = self.failures.get(method)
        if pending:
            failure = pending.pop(0)
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.accepted:
                call.response = self._answer(method, args, "T1")
            if failure.dropped:
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the caller
            if failure.status != 200 or failure.error:
                error = failure.error or ("ratelimited" if failure.status == 429 else "fatal_error")
                return web.json_response(
                    {"ok": False, "error": error}, status=failure.status, headers=failure.headers
                )
        authorization = request.headers.get("Authorization", "")
        if method == "oauth.v2.access":
            call.response = self._exchange(authorization, args)
            return web.json_response(call.response)
        token = "Bearer xapp-" if method == "apps.connections.open" else "Bearer xoxb-"
        if not authorization.startswith(token):
            return web.json_response({"ok": False, "error": "not_authed"})
        call.team = self.team_of(authorization.removeprefix("Bearer "))
        refused = self._elsewhere(method, args, call.team)
        if refused:
            call.response = {"ok": False, "error": refused}
            return web.json_response(call.response)
        call.response = self._answer(method, args, call.team)
        if self.answer_delay and method == "chat.postMessage":
            await asyncio.sleep(self.answer_delay)
        return web.json_response(call.response)

    def _exchange(self, authorization: str, args: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: the app's credentials (HTTP Basic) and a code, once, for a bot token."""
        try:
            pair = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            client_id, _, secret = pair.partition(":")
        except ValueError:
            return {"ok": False, "error": "invalid_client_id"}
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        grant = self.codes.pop(str(args.get("code")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        team = grant["team"]
        token = f"xoxb-{team['id']}-{next(self._ts)}"
        self.tokens[token] = team["id"]
        return {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": grant["installer"]},
            "scope": "chat:write,commands",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": f"UBOT{team['id']}",
            "team": team,
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _user_team(self, user_or_channel: Any) -> str | None:
        """The workspace of a user (or of the user a DM is with); None for one the fake doesn't know."""
        user_id = str(user_or_channel or "")
        user = self.users.get(user_id[1:] if user_id.startswith("D") else user_id)
        return user.get("team_id", "T1") if user else None

    def _elsewhere(self, method: str, args: dict[str, Any], team: str) -> str | None:
        """Slack's refusal of a call about someone in another workspace than the token's."""
        about = {
            "chat.postMessage": ("channel", "channel_not_found"),
            "chat.postEphemeral": ("user", "user_not_in_channel"),
            "reactions.add": ("channel", "channel_not_found"),
            "conversations.open": ("users", "user_not_found"),
            "conversations.history": ("channel", "channel_not_found"),
            "conversations.replies": ("channel", "channel_not_found"),
            "users.info": ("user", "user_not_found"),
            "views.publish": ("user_id", "user_not_found"),
        }.get(method)
        if about is None:
            return None
        where = self._user_team(args.get(about[0]))
        return about[1] if where is not None and where != team else None

    def new_ts(self) -> str:
        """A message timestamp no other message has, as Slack gives each (a person's reply too)."""
        return f"{int(self.clock())}.{next(self._ts) % 1_000_000:06d}"

    def _answer(self, method: str, args: dict[str, Any], team: str) -> dict[str, Any]:
        ts = self.new_ts()
        if method == "apps.connections.open":
            return {"ok": True, "url": self.base_url.replace("http://", "ws://").replace("/api/", "/socket")}
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": "UBOT" if team == "T1" else f"UBOT{team}",
                "bot_id": "BBOT" if team == "T1" else f"BBOT{team}",
                "team_id": team,
                "team": "Test" if team == "T1" else team,
                "user": "bot",
            }
        if method == "chat.postMessage":
            channel = dm(args.get("channel", ""))
            metadata = args.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            posted = {
                "type": "message",
                "bot_id": "BBOT",
                "user": "UBOT",
                "text": args.get("text"),
                "blocks": args.get("blocks"),
                "ts": ts,
            }
            self.messages.append(
                {**posted, "channel": channel, "thread_ts": args.get("thread_ts"), "metadata": metadata}
            )
            return {"ok": True, "channel": channel, "ts": ts, "message": posted}
        if method in {"conversations.history", "conversations.replies"}:
            return self._read(method, args)
        if method in {"chat.postEphemeral"}:
            return {"ok": True, "message_ts": ts}
        if method in {"views.open", "views.update", "views.publish"}:
            return {"ok": True, "view": {"id": f"V{next(self._ts)}", **(args.get("view") or {})}}
        if method == "users.info":
            user = self.users.get(args.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            for user in self.users.values():
                if user.get("team_id", "T1") != team:
                    continue
                if user.get("profile", {}).get("email") == args.get("email"):
                    return {"ok": True, "user": user}
            return {"ok": False, "error": "users_not_found"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": dm(args.get("users", ""))}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts)}"
            return {
                "ok": True,
                "upload_url": self.base_url.replace("/api/", f"/upload/{file_id}"),
                "file_id": file_id,
            }
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": args.get("files") or []}
        return {"ok": True}

    def _read(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """History (top-level messages, newest first) or a thread's replies (oldest first), from
        `oldest`, 200 at most, with metadata only when asked for, as Slack answers."""
        channel, thread = args.get("channel"), args.get("ts")
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata")).lower() in {"1", "true"}
        found = [
            m
            for m in self.messages
            if m["channel"] == channel
            and float(m["ts"]) >= oldest
            and (
                m["thread_ts"] in {None, m["ts"]}
                if method == "conversations.history"
                else thread in {m["ts"], m["thread_ts"]}
            )
        ]
        if method == "conversations.history":
            found.reverse()
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = found[start : start + limit]
        shown = [
            {k: v for k, v in m.items() if k not in {"channel", "metadata"} and v is not None}
            | ({"metadata": m["metadata"]} if with_metadata and m["metadata"] else {})
            for m in page
        ]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": shown,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }


def dm(user_or_channel: str) -> str:
    """The fake's DM channel id for a user id (channel ids pass through)."""
    return user_or_channel if user_or_channel.startswith("D") else f"D{user_or_channel}"


def slack_user(user_id: str, name: str, email: str | None = None, team: str = "T1") -> dict[str, Any]:
    return {
        "id": user_id,
        "team_id": team,
        "name": name.lower(),
        "real_name": name,
        "profile": {"real_name": name, "email": email},
    }
