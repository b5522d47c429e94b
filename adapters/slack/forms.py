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
    """Each input block's value by block id: text, selected option, user, date or checkbox list.
    A value that can't be read is left out, so the form reports the field as missing."""
    result: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for element in actions.values():
            read = READERS.get(element.get("type"))
            if read is None:
                continue
            try:
                result[block_id] = read(element)
            except (ValueError, TypeError, KeyError, OverflowError, OSError):
                result[block_id] = None
    return result


def _option(element: dict[str, Any]) -> str | None:
    option = element.get("selected_option")
    return option.get("value") if option else None


def _date(element: dict[str, Any]) -> date | None:
    text = element.get("selected_date")
    return date.fromisoformat(text) if text else None


def _date_time(element: dict[str, Any]) -> datetime | None:
    stamp = element.get("selected_date_time")
    return datetime.fromtimestamp(int(stamp), UTC) if stamp else None


READERS = {
    "plain_text_input": lambda e: e.get("value") or "",
    "static_select": _option,
    "radio_buttons": _option,
    "external_select": _option,
    "email_text_input": lambda e: e.get("value") or "",
    "users_select": lambda e: e.get("selected_user"),
    "datepicker": _date,
    "datetimepicker": _date_time,
    "checkboxes": lambda e: [o.get("value") for o in e.get("selected_options") or [] if o],
}


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
