"""The Slack Web API client the bot acts through, in every workspace."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

# slack_sdk writes out a debug line holding the request's whole body (a modal, a concern's text)
# before every call whenever its client's own logger has no level, even when nothing would print
# it: on a form that is most of the work an acknowledged command costs. A level of its own skips
# that; WARNING, as adapters/logs.py sets the SDKs' loggers (a child's own level would override it).
SDK_LOGGER = logging.getLogger("slack_sdk.web.async_client")
SDK_LOGGER.setLevel(logging.WARNING)


class ReadsRetried(AsyncConnectionErrorRetryHandler):
    """The SDK's retry after a dropped connection, for calls that change nothing. A post's
    connection may drop after Slack took it: sending again at once posts it twice. The outbox
    retries those itself, after looking for the message by its id (adapters/slack/sender.py)."""

    POSTS = ("chat.", "files.")

    async def _can_retry_async(self, *, request: Any, **rest: Any) -> bool:
        if request.url.rsplit("/", 1)[-1].startswith(self.POSTS):
            return False
        return await super()._can_retry_async(request=request, **rest)


def web_client(
    token: str | None, *, base_url: str, timeout: int, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Web API client for one token (None: each request names its own)."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        session=session,
        logger=SDK_LOGGER,
        retry_handlers=[ReadsRetried()],
    )
