"""The Teams edge: what an activity must look like before botbuilder sees it, and Microsoft's
signing keys fetched off the event loop and in bounded time.

botbuilder parses the body before it checks the token, and fetches the OpenID keys with blocking
`requests.get` calls that have no timeout. A deep or malformed body would crash it (500), and a
slow key endpoint would stall every chat; both are handled here.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import requests
from botframework.connector.auth import jwt_token_extractor

from adapters.schema_check import SchemaCheck

KEY_FETCH_TIMEOUT = 5.0  # seconds for each of the two requests
SCALAR = {"type": ["string", "number", "boolean", "null"]}
TEXT = {"type": "string", "maxLength": 40000}
SHORT = {"type": "string", "maxLength": 2000}
# Ids and addresses go into the connector's URLs: Teams' are printable ASCII, and nothing else is.
ASCII_ID = {"type": "string", "maxLength": 2000, "pattern": "^[\\x20-\\x7e]+$"}
ACTIVITY = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "maxLength": 100},
        "id": ASCII_ID,
        "text": TEXT,
        "serviceUrl": {"type": "string", "pattern": "^https?://[\\x21-\\x7e]+$", "maxLength": 2000},
        "channelId": SHORT,
        "replyToId": ASCII_ID,
        "name": SHORT,
        "from": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": ASCII_ID, "aadObjectId": ASCII_ID, "name": SHORT},
        },
        "recipient": {"type": "object", "properties": {"id": SHORT}},
        "conversation": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": ASCII_ID, "conversationType": SHORT, "tenantId": ASCII_ID},
        },
        "channelData": {
            "type": "object",
            "properties": {"tenant": {"type": "object", "properties": {"id": ASCII_ID}}},
        },
        # Card submissions: our cards only ever submit flat data. A file consent answer nests one
        # level (its context and upload details), and no deeper.
        "value": {
            "anyOf": [
                {
                    "type": "object",
                    "additionalProperties": {
                        "anyOf": [SCALAR, {"type": "object", "additionalProperties": SCALAR}]
                    },
                },
                SCALAR,
            ]
        },
        "membersAdded": {"type": "array", "items": {"type": "object", "properties": {"id": SHORT}}},
    },
    # What the bot acts on needs a sender, a conversation to answer in and a service to answer to.
    "if": {
        "properties": {"type": {"enum": ["message", "invoke", "conversationUpdate", "installationUpdate"]}}
    },
    "then": {"required": ["type", "from", "conversation", "serviceUrl"]},
}
_VALIDATOR = SchemaCheck(ACTIVITY)


def problem(raw: bytes) -> str | None:
    """Why a body is not an activity the bot accepts (a 400), or None."""
    try:
        body: Any = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep to read
        return "the body is not well-formed JSON"
    if not isinstance(body, dict):
        return "the body is not an activity"
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return "the activity holds text that is not valid Unicode"
    error = _VALIDATOR.first_error(body)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"activity: {where} is not as Teams sends it"


async def _refresh_off_the_loop(self) -> None:
    """botbuilder's `_OpenIdMetadata._refresh`, in a worker thread with timeouts."""

    def fetch() -> list[dict[str, Any]]:
        metadata = requests.get(self.url, timeout=KEY_FETCH_TIMEOUT)
        metadata.raise_for_status()
        keys = requests.get(metadata.json()["jwks_uri"], timeout=KEY_FETCH_TIMEOUT)
        keys.raise_for_status()
        return keys.json()["keys"]

    self.keys = await asyncio.wait_for(asyncio.to_thread(fetch), timeout=2 * KEY_FETCH_TIMEOUT + 1)
    self.last_updated = datetime.now()  # noqa: DTZ005 (botbuilder compares with its own naive now())


def _find_or_none(self, key_id: str):
    """A key id Microsoft never issued is an unknown token (401), not an IndexError (500)."""
    if not any(key.get("kid") == key_id for key in self.keys or ()):
        return None
    return _ORIGINAL_FIND(self, key_id)


_ORIGINAL_FIND = jwt_token_extractor._OpenIdMetadata._find


def bound_key_fetch() -> None:
    """Install the two fixes into botbuilder's key cache (idempotent)."""
    jwt_token_extractor._OpenIdMetadata._refresh = _refresh_off_the_loop
    jwt_token_extractor._OpenIdMetadata._find = _find_or_none
