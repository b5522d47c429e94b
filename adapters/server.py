"""`escalation-bot serve`: one aiohttp server for Slack (and Teams), the health check, and the
background loop that delivers messages and sends reminders."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import requests
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.acknowledgements import AcknowledgementsFirst
from adapters.email.setup import build_email, email_settings
from adapters.logs import configure_logging
from adapters.metrics import Metrics
from adapters.runtime import BackgroundLoop, Delivery
from adapters.settings_checks import check_slack, check_teams
from adapters.slack import payloads
from adapters.slack.app import SlackContext, build_app
from adapters.slack.client import web_client
from adapters.slack.oauth import INSTALL_PATH, REDIRECT_PATH, oauth_flow
from adapters.slack.sender import SlackSender
from adapters.slack.workspaces import Workspaces
from adapters.storage_thread import StorageThread
from adapters.system_clock import SystemClock
from adapters.teams import edge as teams_edge
from adapters.web.page import add_page_routes
from bot.clock import Clock
from bot.core import EscalationBot
from bot.policy import PolicyLibrary
from bot.retention import Retention, RetentionError, parse_retention
from bot.settings import Settings, SettingsError
from bot.storage import Storage

log = logging.getLogger("escalation_bot.server")
MAX_REQUEST_BYTES = 1024 * 1024
YOUNG_GENERATION = 20_000  # allocations between collections of the youngest generation
SLACK_API_TIMEOUT = 10


@dataclass
class Services:
    """Everything the server runs, owned in one place so shutdown closes it all."""

    settings: Settings
    bot: EscalationBot
    delivery: Delivery
    loop: BackgroundLoop
    # All the database work of the running server, in turn, off the event loop.
    storage_thread: StorageThread
    # Requests still to be acknowledged: the work that follows acknowledgements waits for them.
    acks: AcknowledgementsFirst
    slack_app: AsyncApp | None = None
    slack_client: AsyncWebClient | None = None
    slack_oauth: Any = None  # bolt's AsyncOAuthFlow, when the bot is installable into workspaces
    teams_adapter: Any = None
    teams_bot: Any = None
    teams_incoming: Any = None  # adapters.teams.incoming.TeamsIncoming, when Teams is on
    teams_sender: Any = None
    extras: list[Any] = field(default_factory=list)
    links: Any = None  # signs and reads the secure page's links, when email is on
    metrics: Metrics | None = None


def check_settings(settings: Settings, policies: PolicyLibrary) -> None:
    """Refuse to start with settings that would leave requests unverified or a policy missing."""
    if settings.default_policy not in policies.policies:
        raise SettingsError(f"DEFAULT_POLICY names no known policy; known: {', '.join(policies.ids())}")
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        raise SettingsError(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together: set both to install the bot into "
            "each workspace, or neither"
        )
    if settings.slack_oauth and not settings.slack_signing_secret:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is needed with SLACK_CLIENT_ID: installing into workspaces works over HTTP"
        )
    if settings.slack_enabled and not (settings.slack_signing_secret or settings.slack_app_token):
        raise SettingsError(
            "SLACK_SIGNING_SECRET is needed to verify Slack's requests over HTTP "
            "(or set SLACK_APP_TOKEN to use Socket Mode)"
        )
    email_settings(settings)
    settings.check_teams_graph()
    check_teams(settings)
    check_slack(settings)
    retention_of(settings, policies)


def build_services(settings: Settings, *, clock: Clock | None = None) -> Services:
    """Open the database and policies and wire the platforms the settings enable."""
    policies = PolicyLibrary.load(settings.policies_dir)
    check_settings(settings, policies)
    store = Storage.open(settings.database_url)
    store.lease_seconds = settings.outbox_lease_seconds
    bot = EscalationBot(
        store=store,
        policies=policies,
        clock=clock or SystemClock(),
        retention=retention_of(settings, policies),
    )
    storage_thread = StorageThread()
    acks = AcknowledgementsFirst()
    delivery = Delivery(bot, storage_thread, acks)
    loop = BackgroundLoop(bot, delivery, timedelta(seconds=settings.work_check_seconds))
    services = Services(
        settings=settings, bot=bot, delivery=delivery, loop=loop, storage_thread=storage_thread, acks=acks
    )
    services.metrics = Metrics(bot)
    delivery.watchers.append(services.metrics.observe_send)
    if settings.slack_enabled:
        # Where the bot is installed into many workspaces, each request and message uses its own
        # workspace's token, so the shared client carries none.
        client = web_client(
            None if settings.slack_oauth else settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=SLACK_API_TIMEOUT,
        )
        workspaces = Workspaces(
            store, client, storage_thread, token=settings.slack_bot_token, multi=settings.slack_oauth
        )
        ctx = SlackContext(
            bot=bot,
            client=client,
            default_policy=settings.default_policy,
            on_queued=loop.poke,
            storage_thread=storage_thread,
            acks=acks,
            workspaces=workspaces,
        )
        services.slack_app = build_app(
            ctx, authorize=workspaces.authorize() if settings.slack_oauth else None
        )
        if settings.slack_oauth:
            services.slack_oauth = oauth_flow(
                store=store,
                storage_thread=storage_thread,
                clock=bot.clock,
                client=client,
                client_id=settings.slack_client_id or "",
                client_secret=settings.slack_client_secret or "",
                api_url=settings.slack_api_url,
            )
        loop.inboxes.append(ctx.inbox)
        services.slack_client = client
        delivery.add_platform("slack", SlackSender(workspaces, store, storage_thread).send)
    if settings.teams_app_id or settings.teams_allow_unauthenticated:
        from adapters.teams.setup import build_teams

        build_teams(services)
    email = email_settings(settings)
    if email is not None:
        build_email(services, email)
    return services


def retention_of(settings: Settings, policies: PolicyLibrary) -> Retention:
    """RETENTION, read against the policies it names; SettingsError saying what to write."""
    try:
        return parse_retention(settings.retention, policies.ids())
    except RetentionError as exc:
        raise SettingsError(str(exc)) from None


def _signed_by_slack(secret: str, raw: bytes, headers) -> bool:
    try:
        return SignatureVerifier(secret).is_valid(
            body=raw,
            timestamp=headers.get("X-Slack-Request-Timestamp"),
            signature=headers.get("X-Slack-Signature"),
        )
    except (ValueError, TypeError):  # a timestamp that is not a number
        return False


def web_app(services: Services) -> web.Application:
    """The HTTP routes: Slack events, the health check (Teams joins in its own module)."""
    measured = [services.metrics.middleware()] if services.metrics else []
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=measured)

    def counts() -> dict[str, Any]:
        store = services.bot.store
        return {"ok": True, "outbox": store.outbox_counts(), "inbox": store.inbox_counts()}

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response(await services.storage_thread.run(counts))

    async def metrics(request: web.Request) -> web.Response:
        token = services.settings.metrics_token
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if services.metrics is None:
            return web.Response(status=404)
        if token and not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(status=401, text="METRICS_TOKEN is set: send it as a bearer token\n")
        body, content_type = await services.storage_thread.run(services.metrics.render)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def slack_events(request: web.Request) -> web.Response:
        with services.acks.answering():  # from its arrival until bolt returns its acknowledgement
            return await slack_answer(request)

    async def slack_answer(request: web.Request) -> web.Response:
        if services.slack_app is None:
            return web.json_response({"error": "Slack is not configured on this server"}, status=503)
        if not services.settings.slack_signing_secret:
            # Socket Mode only: without a signing secret no HTTP request can be verified.
            return web.json_response({"error": "Slack uses Socket Mode on this server"}, status=404)
        # The signature first, on the raw bytes, before anything reads them: an outsider's body is
        # never parsed, and never logged.
        raw = await request.read()
        if not _signed_by_slack(services.settings.slack_signing_secret, raw, request.headers):
            log.info("Slack: refused a request without a valid signature")
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            body = payloads.decode(raw, request.content_type)
            problem = payloads.problem(body)
        except payloads.BadPayload as exc:
            problem = str(exc)
        if problem:
            log.info("Slack: refused a malformed payload")
            return web.json_response({"error": problem}, status=400)
        bolt_request = payloads.as_bolt_request(body, raw, request.query_string, request.headers)
        bolt_response = await services.slack_app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def slack_install(request: web.Request) -> web.Response:
        # Installing into a workspace: the first step sends the installer to Slack; Slack sends
        # them back to the second with a code for the workspace's token.
        flow = services.slack_oauth
        if flow is None:
            return web.Response(
                status=404,
                text="Installing into Slack workspaces is not set up on this server: the admin sets "
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to allow it.\n",
            )
        bolt_request = await to_bolt_request(request)
        if request.path == INSTALL_PATH:
            return await to_aiohttp_response(await flow.handle_installation(bolt_request))
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    async def teams_messages(request: web.Request) -> web.Response:
        with services.acks.answering():
            return await teams_answer(request)

    async def teams_answer(request: web.Request) -> web.Response:
        # Without an app id every activity is refused, unless the development switch is on.
        if services.teams_adapter is None:
            return web.json_response({"error": "Teams is not configured on this server"}, status=401)
        authorization = request.headers.get("Authorization", "")
        if not services.settings.teams_allow_unauthenticated and not authorization.startswith("Bearer "):
            return web.json_response({"error": "unauthorized"}, status=401)
        problem = teams_edge.problem(await request.read())
        if problem:
            return web.json_response({"error": problem}, status=400)
        try:
            response = await services.teams_incoming.receive(request)
        except web.HTTPException as exc:
            return web.json_response({"error": exc.reason}, status=exc.status)
        except (requests.RequestException, OSError, TimeoutError) as exc:
            # Microsoft's signing keys could not be fetched: try again later, not "unauthorized".
            log.warning("Teams: signing keys unavailable (%s)", type(exc).__name__)
            return web.json_response({"error": "cannot verify the token just now"}, status=503)
        except Exception as exc:  # what reaches here failed authentication: the turn has its own handler
            log.info("Teams: refused a token (%s)", type(exc).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        return response or web.Response(status=201)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get(INSTALL_PATH, slack_install)
    app.router.add_get(REDIRECT_PATH, slack_install)
    app.router.add_post("/api/messages", teams_messages)
    add_page_routes(app, services)

    async def start(app: web.Application) -> None:
        if services.slack_client is not None:
            # One pool of kept-alive connections for every Slack call: without a session of its
            # own the SDK opens (and on slack.com handshakes TLS for) a new connection per call.
            services.slack_client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=SLACK_API_TIMEOUT)
            )
        services.loop.start()
        if services.slack_app is not None and services.settings.slack_app_token:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(
                services.slack_app, services.settings.slack_app_token, web_client=services.slack_client
            )
            await handler.connect_async()
            services.extras.append(handler)
            log.info("Slack: connected in Socket Mode")

    async def stop(app: web.Application) -> None:
        await services.loop.stop()
        for extra in services.extras:
            with contextlib.suppress(Exception):
                await extra.close_async()
        if services.slack_client is not None and services.slack_client.session is not None:
            await services.slack_client.session.close()
        # After whatever is still queued for it: nothing is cut off mid-write.
        await services.storage_thread.run(services.bot.store.close)
        services.storage_thread.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


def run(settings: Settings, *, host: str = "0.0.0.0") -> int:
    """Serve until interrupted. Logs say what is enabled, never a secret or a concern's text."""
    from adapters.backup import hold_server_lock

    # Held until the process ends, so `restore` knows a server is on this database.
    lock = hold_server_lock(settings.database_url)
    handler = configure_logging(log_format=settings.log_format)
    try:
        return _serve(settings, host)
    finally:
        logging.getLogger().removeHandler(handler)
        if lock is not None:
            lock.close()


def settle_interpreter() -> None:
    """Once the server is built, CPython set for a server with a storage thread beside its event
    loop (each measured beside a burst of `/escalate`):
    - what it holds for its whole life (policies, calendars, the SDKs) is left out of the
      collector's full passes, each of which held up every request for tens of milliseconds;
    - the youngest generation is collected every 20,000 allocations, not 700: a sweep's batches
      fill it, and its collections (1-2 ms each) fell in the middle of a burst's acknowledgements.
    (The storage thread itself shortens CPython's switch interval: adapters/storage_thread.py.)"""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


def _serve(settings: Settings, host: str) -> int:
    services = build_services(settings)
    settle_interpreter()
    # The file, or the server and database: never a PostgreSQL user or password.
    log.info("database: %s", settings.database_url.split("///", 1)[-1].split("@", 1)[-1])
    log.info("policies: %s (default %s)", ", ".join(services.bot.policies.ids()), settings.default_policy)
    if services.slack_app is None:
        log.warning("Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
    else:
        log.info("Slack: POST /slack/events (Web API at %s)", settings.slack_api_url)
    if services.slack_oauth is not None:
        installed = len(services.bot.store.slack_installations())
        log.info(
            "Slack: installs into workspaces at GET %s (%d installed%s)",
            INSTALL_PATH,
            installed,
            ", and SLACK_BOT_TOKEN's own" if settings.slack_bot_token else "",
        )
    if services.teams_adapter is None:
        log.warning("Teams is not configured: set MicrosoftAppId and MicrosoftAppPassword")
    elif not settings.teams_app_id:
        for line in (
            "*" * 72,
            "TEAMS_ALLOW_UNAUTHENTICATED=1: Teams activities are NOT authenticated.",
            "Anyone who can reach /api/messages can act as any user. Development only.",
            "*" * 72,
        ):
            log.warning(line)
    else:
        log.info("Teams: POST /api/messages (app id %s)", settings.teams_app_id)
    if services.links is None:
        log.info("Email is off: set SMTP_URL, MAIL_FROM, PUBLIC_URL and PAGE_SECRET to reach people by email")
    else:
        log.info("Email: from %s; secure page at %s/p/…", settings.mail_from, settings.public_url)
    web.run_app(web_app(services), host=host, port=settings.port, print=None, access_log=None)
    return 0


async def serve_for_tests(services: Services, host: str = "127.0.0.1") -> tuple[web.AppRunner, int]:
    """Start the server on a free port on loopback; returns the runner (clean up) and the port."""
    runner = web.AppRunner(web_app(services), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await asyncio.sleep(0)
    return runner, port
