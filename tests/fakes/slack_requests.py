"""Signed Slack requests for tests: slash commands, interactivity and events, built as Slack sends them."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

SECRET = "test-signing-secret"


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: str,
    content_type: str,
    *,
    secret: str | None = SECRET,
    timestamp: int | None = None,
    retry: int | None = None,
) -> tuple[int, str]:
    """POST `body` signed with the signing secret (or unsigned when secret is None)."""
    headers = {"Content-Type": content_type}
    if secret is not None:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers["X-Slack-Request-Timestamp"] = stamp
        headers["X-Slack-Signature"] = SignatureVerifier(secret).generate_signature(
            timestamp=stamp, body=body
        )
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    async with session.post(url, data=body.encode(), headers=headers) as response:
        return response.status, await response.text()


def slash(
    user_id: str,
    text: str = "",
    trigger_id: str = "trigger-1",
    response_url: str = "http://127.0.0.1:9/response",
) -> tuple[str, str]:
    body = urlencode(
        {
            "token": "x",
            "team_id": "T1",
            "channel_id": f"D{user_id}",
            "user_id": user_id,
            "command": "/escalate",
            "text": text,
            "trigger_id": trigger_id,
            "response_url": response_url,
        }
    )
    return body, "application/x-www-form-urlencoded"


def interaction(payload: dict[str, Any]) -> tuple[str, str]:
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


def fill(view: dict[str, Any], **answers: Any) -> dict[str, Any]:
    """A view as submitted: `view` (as the bot opened it) with each input answered."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind, answer = element["type"], answers.get(block["block_id"])
        state: dict[str, Any] = {"type": kind}
        if kind in {"plain_text_input", "email_text_input"}:
            state["value"] = answer
        elif kind in {"static_select", "radio_buttons", "external_select"}:
            if answer is None and element.get("initial_option"):
                answer = element["initial_option"]["value"]
            state["selected_option"] = {"value": answer} if answer is not None else None
        elif kind == "users_select":
            state["selected_user"] = answer
        elif kind == "datepicker":
            state["selected_date"] = answer
        elif kind == "datetimepicker":
            state["selected_date_time"] = answer if answer is not None else element.get("initial_date_time")
        elif kind == "checkboxes":
            state["selected_options"] = [{"value": v} for v in (answer or [])]
        values[block["block_id"]] = {element.get("action_id", "value"): state}
    return {**view, "id": view.get("id", "V1"), "hash": "h1", "state": {"values": values}}


def view_submission(user_id: str, view: dict[str, Any]) -> tuple[str, str]:
    return interaction(
        {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": user_id},
            "view": view,
            "api_app_id": "A1",
        }
    )


def block_action(
    user_id: str,
    action_id: str,
    *,
    value: str | None = None,
    selected_user: str | None = None,
    block_id: str = "b",
    view: dict[str, Any] | None = None,
    trigger_id: str = "trigger-2",
) -> tuple[str, str]:
    action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": "button"}
    if value is not None:
        action["value"] = value
    if selected_user is not None:
        action.update(type="users_select", selected_user=selected_user)
    if view is not None:
        option = view.get("_selected")
        action.update(type="radio_buttons", selected_option={"value": option})
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user_id},
        "api_app_id": "A1",
        "trigger_id": trigger_id,
        "actions": [action],
    }
    if view is not None:
        payload["view"] = view
        payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
    else:
        payload["channel"] = {"id": f"D{user_id}"}
        payload["container"] = {"type": "message", "channel_id": f"D{user_id}"}
        payload["message"] = {"ts": "1700000000.000001"}
    return interaction(payload)


def event(event_body: dict[str, Any], event_id: str) -> tuple[str, str]:
    body = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": event_body,
    }
    return json.dumps(body), "application/json"


def reply(user_id: str, channel: str, thread_ts: str, text: str, ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": channel,
        "channel_type": "im",
        "user": user_id,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
    }


# Alex's raise form answered in full (Camden, with Sam), as the Slack tests submit it.
RAISE_ANSWERS = {
    "risk_now": "no",
    "case_reference": "CIN-20931",
    "counterpart": "dir:sam",
    "category": "threshold",
    "issue": "Health visiting plans to close the case.",
    "risk": "Baby of 8 months; missed appointments.",
    "outcome_wanted": "Keep health visiting open until the review.",
}
