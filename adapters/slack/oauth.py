"""Installing the bot into each agency's Slack workspace: bolt's OAuth flow on our stores, with
plain pages that say what happens next."""

from __future__ import annotations

import html
import logging
from urllib.parse import urlsplit, urlunsplit

from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth import OAuthStateUtils
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.installations import STATE_LIFETIME, StoredInstallations, StoredStates
from adapters.storage_thread import StorageThread
from bot.clock import Clock
from bot.storage import Storage

log = logging.getLogger("escalation_bot.slack")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes asked for at install: the same as the manifests' (a test holds them equal).
BOT_SCOPES = (
    "chat:write",
    "commands",
    "files:write",
    "im:history",
    "im:write",
    "reactions:write",
    "users:read",
    "users:read.email",
)
# The page holds no script, no form and no outside resource; the address carries the one-time code.
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TRY_AGAIN = f'To try again, open <a href="{INSTALL_PATH}">{INSTALL_PATH}</a> on this server.'
FAILURES = {
    "access_denied": "The installation was cancelled, so nothing was installed. " + TRY_AGAIN,
    "invalid_browser": (
        "This page was opened without the installation it belongs to (it must be finished in the "
        "browser that started it), so nothing was installed. " + TRY_AGAIN
    ),
    "invalid_state": (
        f"This installation link has expired (links last {STATE_LIFETIME.seconds // 60} minutes) or has "
        "been used already, so nothing was installed. " + TRY_AGAIN
    ),
    "missing_code": "Slack sent no installation code, so nothing was installed. " + TRY_AGAIN,
    "invalid_code": "Slack did not accept this installation, so nothing was installed. " + TRY_AGAIN,
    "storage_error": (
        "Slack approved the installation but the bot could not keep it, so nothing was installed. "
        "Please tell the partnership's IT admin; the server's log says why."
    ),
}


def authorization_url(api_url: str) -> str:
    """Slack's authorize page beside the Web API it uses (slack.com, GovSlack, a test double)."""
    parts = urlsplit(api_url)
    return urlunsplit((parts.scheme, parts.netloc, "/oauth/v2/authorize", "", ""))


def oauth_flow(
    *,
    store: Storage,
    storage_thread: StorageThread,
    clock: Clock,
    client: AsyncWebClient,
    client_id: str,
    client_secret: str,
    api_url: str,
) -> AsyncOAuthFlow:
    """Bolt's OAuth flow: /slack/install sends the installer to Slack with a one-time state (and a
    cookie tying it to their browser); /slack/oauth_redirect exchanges the code for the workspace's
    bot token and keeps it."""
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        install_path=INSTALL_PATH,
        install_page_rendering_enabled=False,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=authorization_url(api_url),
        installation_store=StoredInstallations(store, storage_thread, clock),
        installation_store_bot_only=True,
        state_store=StoredStates(store, storage_thread, clock),
        state_expiration_seconds=int(STATE_LIFETIME.total_seconds()),
        callback_options=AsyncCallbackOptions(success=_installed, failure=_not_installed),
        logger=log,
    )
    return AsyncOAuthFlow(client=client, logger=log, settings=settings)


async def _installed(args: AsyncSuccessArgs) -> BoltResponse:
    name = args.installation.team_name or "your workspace"
    return _page(
        200,
        "Installed",
        f"The escalation bot is now installed in {name}.",
        "People there can type /escalate to raise a professional difference, and the bot will "
        "message them there when a difference involves them. You can close this page.",
        args.settings.state_utils,
    )


async def _not_installed(args: AsyncFailureArgs) -> BoltResponse:
    log.info("Slack: an installation was refused (%s)", args.reason)
    text = FAILURES.get(args.reason, "Something went wrong, so nothing was installed. " + TRY_AGAIN)
    return _page(
        args.suggested_status_code,
        "Not installed",
        "The escalation bot was not installed.",
        text,
        args.settings.state_utils,
    )


def _page(status: int, title: str, heading: str, text: str, state_utils: OAuthStateUtils) -> BoltResponse:
    # `text` is ours and may hold a link; only the workspace's name comes from outside.
    body = (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}: escalation bot</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em">'
        f"<h1>{html.escape(heading)}</h1><p>{text}</p></body></html>\n"
    )
    headers: dict[str, str | list[str]] = {
        **PAGE_HEADERS,
        "Set-Cookie": [state_utils.build_set_cookie_for_deletion()],
    }
    return BoltResponse(status=status, body=body, headers=headers)
