"""Reading submitted Slack modals into core commands; core field errors back onto the blocks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

# Core field names that are not blocks of the form they came from, and where to show them.
FIELD_TO_BLOCK = {"actor": "my_agency", "status": "reason", "stage": "reason"}


def metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}


def values(view: dict[str, Any]) -> dict[str, Any]:
    """Each input block's value by block id: text, selected option, user, date or checkbox list."""
    result: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind == "plain_text_input":
                result[block_id] = element.get("value") or ""
            elif kind in {"static_select", "radio_buttons"}:
                option = element.get("selected_option")
                result[block_id] = option["value"] if option else None
            elif kind == "users_select":
                result[block_id] = element.get("selected_user")
            elif kind == "datepicker":
                text = element.get("selected_date")
                result[block_id] = date.fromisoformat(text) if text else None
            elif kind == "datetimepicker":
                stamp = element.get("selected_date_time")
                result[block_id] = datetime.fromtimestamp(int(stamp), UTC) if stamp else None
            elif kind == "checkboxes":
                result[block_id] = [o["value"] for o in element.get("selected_options") or []]
    return result


def errors_for(view: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Core errors keyed by the form's block ids, so Slack shows each beside its field."""
    blocks = {b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"}
    mapped: dict[str, str] = {}
    for field, message in errors.items():
        block = field if field in blocks else FIELD_TO_BLOCK.get(field)
        if block not in blocks:
            block = next(
                (b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"), field
            )
        mapped.setdefault(block, message[:150])
    return mapped
