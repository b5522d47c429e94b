"""Activities as Teams sends them to /api/messages, for tests."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)
TENANT = "tenant-1"
BOT = {"id": "28:escalation-bot", "name": "Escalation bot"}


def activity(
    service_url: str,
    user: str,
    *,
    kind: str = "message",
    text: str | None = None,
    value: dict[str, Any] | None = None,
    conversation: str | None = None,
    conversation_type: str = "personal",
    reply_to_id: str | None = None,
    members_added: list[dict[str, Any]] | None = None,
    tenant: str = TENANT,
) -> dict[str, Any]:
    """An activity from `user` (their AAD object id is aad-<user>, their Teams id 29:<user>)."""
    body: dict[str, Any] = {
        "type": kind,
        "id": f"in-{next(_ids)}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:{user}", "name": user.title(), "aadObjectId": f"aad-{user}"},
        "recipient": BOT,
        "conversation": {
            "id": conversation or f"a:{user}",
            "conversationType": conversation_type,
            "tenantId": tenant,
        },
        "channelData": {"tenant": {"id": tenant}},
        "locale": "en-GB",
    }
    if text is not None:
        body["text"] = text
    if value is not None:
        body["value"] = value
    if reply_to_id:
        body["replyToId"] = reply_to_id
    if members_added is not None:
        body["membersAdded"] = members_added
    return body


def install(service_url: str, user: str, *, tenant: str = TENANT) -> dict[str, Any]:
    return activity(service_url, user, kind="conversationUpdate", members_added=[BOT], tenant=tenant)


# A complete raise form as Teams submits it (Camden, about Sam).
RAISE = {
    "action": "raise",
    "policy": "camden",
    "risk_now": "no",
    "case_reference": "CIN-20931",
    "counterpart": "dir:sam",
    "category": "threshold",
    "issue": "Health visiting plans to close the case.",
    "risk": "Baby of 8 months; missed appointments.",
    "outcome_wanted": "Keep health visiting open until the review.",
}
