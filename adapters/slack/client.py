"""The Slack Web API client the bot acts through, in every workspace."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

# slack_sdk writes out a debug line holding the request's whole body (a modal, a concern's text)
# before every call whenever its client's own logger has no level, even when nothing would print
# it: on a form that is most of the work an acknowledged command costs. A level of its own skips
# that; WARNING, as adapters/logs.py sets the SDKs' loggers (a child's own level would override it).
SDK_LOGGER = logging.getLogger("slack_sdk.web.async_client")
SDK_LOGGER.setLevel(logging.WARNING)


def web_client(
    token: str | None, *, base_url: str, timeout: int, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Web API client for one token (None: each request names its own)."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, session=session, logger=SDK_LOGGER)
