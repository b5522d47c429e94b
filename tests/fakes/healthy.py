"""Waiting for a `serve` process started by a test to answer its health check."""

from __future__ import annotations

import asyncio

import aiohttp


async def until_healthy(session: aiohttp.ClientSession, url: str, tries: int = 100) -> None:
    """Poll `{url}/healthz` until it answers 200; fail the test if it never does."""
    for _ in range(tries):
        try:
            async with session.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not start")
