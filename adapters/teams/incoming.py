"""Teams activities in: answered before any database work but the one write that makes the answer
a promise, as Slack's events are.

An activity's token is checked when it arrives. An invoke (a people search, a file consent) is
answered by its turn, so it is handled at once, its database work in the storage thread. Any
other activity is kept in the inbox and answered (201) straight away; the turn runs from the
inbox, replying through the connector with the bot's own credentials as a proactive message
does, since the request it came in has been answered by then. A stop in between leaves it kept,
handled at the next start; a retry of one already kept or handled is answered and ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from aiohttp import web
from botbuilder.core import ActivityHandler, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes

from adapters.acknowledgements import AcknowledgementsFirst
from adapters.inbox import Inbox
from adapters.storage_thread import StorageThread
from bot.clock import Clock
from bot.storage import Storage

log = logging.getLogger("escalation_bot.teams")
PLATFORM = "teams"


class TeamsIncoming:
    """Receives each activity: authenticated, then turned now (an invoke) or kept for the inbox."""

    def __init__(
        self,
        adapter: CloudAdapter,
        bot: ActivityHandler,
        *,
        app_id: str,
        store: Storage,
        clock: Clock,
        storage_thread: StorageThread,
        acks: AcknowledgementsFirst | None = None,
    ) -> None:
        self.adapter = adapter
        self.bot = bot
        self.app_id = app_id
        self.inbox = Inbox(store, clock, PLATFORM, self._turn, storage_thread, acks)

    async def receive(self, request: web.Request) -> web.Response:
        """The answer to one POST /api/messages; raises HTTPException for a request refused."""
        if "application/json" not in request.headers.get("Content-Type", ""):
            raise web.HTTPUnsupportedMediaType()
        body = await request.json()
        activity = Activity().deserialize(body)
        if not activity.type:
            raise web.HTTPBadRequest()
        authorization = request.headers.get("Authorization", "")
        try:
            checked = await self.adapter.bot_framework_authentication.authenticate_request(
                activity, authorization
            )
        except PermissionError:
            raise web.HTTPUnauthorized() from None
        if activity.type == ActivityTypes.invoke:
            # The answer is the invoke's response: its turn runs now.
            answer = await self.adapter.process_activity(checked, activity, self.bot.on_turn)
            if answer:
                return web.json_response(data=serializer_helper(answer.body), status=answer.status)
            return web.Response(status=201)
        try:
            await self.inbox.keep(_key(activity, body), {"activity": body})
        except Exception as exc:  # not kept, so not promised: Teams may send it again
            log.error("Teams: could not keep an activity (%s)", type(exc).__name__)
            return web.json_response({"error": "not received; please try again"}, status=503)
        return web.Response(status=201)

    async def _turn(self, kept: dict[str, Any]) -> None:
        activity = Activity().deserialize(kept["activity"])
        identity = self.adapter.create_claims_identity(self.app_id)
        await self.adapter.process_proactive(identity, activity, None, self.bot.on_turn)


def _key(activity: Activity, body: dict[str, Any]) -> str:
    """What identifies an activity: its id within its conversation, else what it says."""
    conversation = activity.conversation.id if activity.conversation else ""
    if activity.id:
        return f"{conversation}:{activity.id}"
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
