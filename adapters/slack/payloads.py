"""What a Slack request must look like before any listener sees it: decoded defensively, and each
payload type checked against a small schema, so a malformed one is refused with a clear 400 (or
ignored), never a traceback."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.schema_check import SchemaCheck

ID = {"type": "string", "pattern": "^[A-Z0-9]{1,40}$"}
TEXT = {"type": "string", "maxLength": 40000}
SHORT = {"type": "string", "maxLength": 3000}
OPTION = {"type": ["object", "null"], "properties": {"value": SHORT}}
VIEW = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {
        "id": SHORT,
        "type": SHORT,
        "team_id": SHORT,
        "callback_id": SHORT,
        "hash": SHORT,
        "private_metadata": SHORT,
        "blocks": {
            "type": "array",
            "items": {"type": "object", "properties": {"type": SHORT, "block_id": SHORT}},
        },
        "state": {
            "type": "object",
            "properties": {
                "values": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "type": SHORT,
                                "value": {"type": ["string", "null"], "maxLength": 40000},
                                "selected_option": OPTION,
                                "selected_options": {"type": ["array", "null"], "items": OPTION},
                                "selected_user": {"anyOf": [ID, {"type": "null"}]},
                                "selected_date": {"type": ["string", "null"], "maxLength": 40},
                                "selected_date_time": {"type": ["integer", "string", "null"]},
                            },
                        },
                    },
                }
            },
        },
    },
}
USER = {"type": "object", "required": ["id"], "properties": {"id": ID, "team_id": SHORT}}
MESSAGE = {
    "type": "object",
    "properties": {
        "user": ID,
        "bot_id": SHORT,
        "text": TEXT,
        "ts": SHORT,
        "thread_ts": SHORT,
        "subtype": SHORT,
        "files": {"type": "array", "items": {"type": "object"}},
    },
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "command": {
        "type": "object",
        "required": ["user_id", "command", "trigger_id", "response_url"],
        "properties": {
            "user_id": ID,
            "response_url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
            "command": SHORT,
            "text": TEXT,
            "trigger_id": SHORT,
            "channel_id": SHORT,
        },
    },
    "view_submission": {
        "type": "object",
        "required": ["user", "view"],
        "properties": {"user": USER, "view": VIEW},
    },
    "view_closed": {"type": "object", "required": ["user"], "properties": {"user": USER}},
    # Someone typing into a people menu: what they typed, which menu.
    "block_suggestion": {
        "type": "object",
        "required": ["user", "action_id", "value"],
        "properties": {
            "user": USER,
            "action_id": SHORT,
            "block_id": SHORT,
            "value": {"type": "string", "maxLength": 500},
        },
    },
    "block_actions": {
        "type": "object",
        "required": ["user", "actions", "trigger_id"],
        "properties": {
            "user": USER,
            "trigger_id": SHORT,
            "view": VIEW,
            "channel": {"type": "object", "properties": {"id": SHORT}},
            "actions": {
                "type": "array",
                "minItems": 1,
                "maxItems": 25,
                "items": {
                    "type": "object",
                    "required": ["action_id"],
                    "properties": {
                        "action_id": SHORT,
                        "block_id": SHORT,
                        "value": {"type": "string", "maxLength": 2000},
                        "selected_user": ID,
                        "selected_option": OPTION,
                    },
                },
            },
        },
    },
    "event_callback": {
        "type": "object",
        "required": ["event"],
        "properties": {
            "event_id": SHORT,
            "team_id": SHORT,
            "event": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    **MESSAGE["properties"],
                    "type": SHORT,
                    "channel": SHORT,
                    "channel_type": SHORT,
                    "team": SHORT,
                    "user_team": SHORT,
                    "tab": SHORT,
                    "deleted_ts": SHORT,
                    "message": MESSAGE,
                    "previous_message": MESSAGE,
                },
                # App Home is opened by someone: the bot answers them.
                "if": {"properties": {"type": {"const": "app_home_opened"}}},
                "then": {"required": ["type", "user"]},
            },
        },
    },
    "url_verification": {"type": "object", "required": ["challenge"], "properties": {"challenge": SHORT}},
}
# What bolt itself reads from any payload (to find the team, user and channel) before our
# listeners run: the right types, or it would fail there.
OPTIONAL_ID = {"type": ["string", "null"], "maxLength": 200}
ORG = {"type": ["object", "string", "null"], "properties": {"id": OPTIONAL_ID, "enterprise_id": OPTIONAL_ID}}
COMMON = {
    "token": SHORT,
    "api_app_id": SHORT,
    "team": ORG,
    "enterprise": ORG,
    "team_id": OPTIONAL_ID,
    "enterprise_id": OPTIONAL_ID,
    "context_team_id": OPTIONAL_ID,
    "context_enterprise_id": OPTIONAL_ID,
    "is_enterprise_install": {"type": ["boolean", "string", "null"]},
    "is_ext_shared_channel": {"type": ["boolean", "null"]},
    "channel": {"type": ["object", "string", "null"], "properties": {"id": OPTIONAL_ID}},
    "channel_id": OPTIONAL_ID,
    "thread_ts": OPTIONAL_ID,
    "message": MESSAGE,
    "previous_message": MESSAGE,
    "item": {"type": "object", "properties": {"channel": OPTIONAL_ID}},
    "authorizations": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "team_id": OPTIONAL_ID,
                "enterprise_id": OPTIONAL_ID,
                "user_id": OPTIONAL_ID,
                "is_enterprise_install": {"type": ["boolean", "null"]},
            },
        },
    },
}
for _schema in SCHEMAS.values():
    _schema["properties"] = {**COMMON, **_schema["properties"]}
_VALIDATORS = {kind: SchemaCheck(schema) for kind, schema in SCHEMAS.items()}


class BadPayload(Exception):
    """A request body that is not a Slack payload the bot accepts; the message says why."""


def decode(raw: bytes, content_type: str) -> dict[str, Any]:
    """The body, decoded once, defensively (bad input is a 400, never a crash); bolt is handed
    this decoding rather than making its own (`as_bolt_request`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload("the body is not UTF-8") from None
    try:
        if content_type.startswith("application/json"):
            body = json.loads(text)
        else:
            body = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
            if "payload" in body:
                body = json.loads(body["payload"])
            else:
                return body  # form fields, percent-decoded: no JSON escape can hide a lone surrogate
    except (ValueError, RecursionError):
        raise BadPayload("the body is not well-formed JSON or form data") from None
    if not isinstance(body, dict):
        raise BadPayload("the body is not a Slack payload")
    if not well_formed_unicode(body):
        raise BadPayload("the body holds text that is not valid Unicode")
    return body


def as_bolt_request(
    body: dict[str, Any], raw: bytes, query: str, headers: Mapping[str, str]
) -> AsyncBoltRequest:
    """bolt's request for a body `decode` read. bolt's own reading is not used: it costs a second
    parse of every request before its acknowledgement, and it reads any slash command whose text
    contains the word "payload" as an empty body, which no listener then answers."""
    request = AsyncBoltRequest(body="", query=query, headers=headers)  # type: ignore[arg-type]
    request.raw_body = raw.decode("utf-8")
    request.body = body
    request.context = build_async_context(AsyncBoltContext(), body)
    return request


def well_formed_unicode(body: Any) -> bool:
    """False when JSON escapes smuggled in a lone surrogate, which no platform sends and no
    database can store."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def problem(body: Mapping[str, Any]) -> str | None:
    """What is wrong with a decoded payload, or None for one the bot can handle (or ignore)."""
    if "ssl_check" in body:
        return None  # Slack checking the certificate: bolt answers it
    kind = "command" if "command" in body else body.get("type")
    validator = _VALIDATORS.get(kind) if isinstance(kind, str) else None
    if validator is None:
        return f"{str(kind)[:40]!r} is not a kind of Slack payload this bot handles"
    error = validator.first_error(body)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"{kind} payload: {where} is not as Slack sends it"
