"""Rendering for Slack: core messages to Block Kit, and the modals and App Home views.

Every piece of text that can hold user input is escaped here, so no `<!channel>` or forged link
can pass through, and bounded to Slack's limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.messages import Action, ActionKind, Message
from bot.policy import Policy
from bot.storage import EscalationRow
from bot.wording import when

SECTION_LIMIT = 2900  # Slack allows 3,000 characters in a section's text
MAX_SECTIONS = 40  # of Slack's 50 blocks, leaving room for buttons
FORMS = ("Phone call", "Meeting", "Email", "Message", "Letter", "Other")
BUTTON_STYLE = {ActionKind.RESOLVE: "primary", ActionKind.WITHDRAW: "danger"}


def escape(text: str) -> str:
    """Slack's three control characters, so user text is shown as typed and never acts."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split text at line ends into pieces Slack accepts (long lines are cut)."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines():
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        if len(current) + len(line) + 1 > limit:
            pieces.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces or [""]


def sections(text: str) -> list[dict[str, Any]]:
    """Escaped mrkdwn sections; the first line (the escalation heading) in bold."""
    escaped = escape(text)
    first, _, rest = escaped.partition("\n")
    if first and rest and first.startswith("E-"):
        escaped = f"*{first}*\n{rest}"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in chunks(escaped)]
    if len(blocks) > MAX_SECTIONS:
        blocks = [
            *blocks[: MAX_SECTIONS - 1],
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "… (shortened: see the full record)"}],
            },
        ]
    return blocks


def action_elements(actions: Iterable[Action]) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = []
    for action in actions:
        if action.kind is ActionKind.NAME_MANAGER:
            elements.append(
                {
                    "type": "users_select",
                    "action_id": "esc:name_manager",
                    "placeholder": plain("Choose your line manager"),
                }
            )
            continue
        button: dict[str, Any] = {
            "type": "button",
            "action_id": f"esc:{action.kind.value}",
            "text": plain(action.label),
            "value": action.escalation_id,
        }
        if action.kind in BUTTON_STYLE:
            button["style"] = BUTTON_STYLE[action.kind]
        elements.append(button)
    return elements


def message_payload(message: Message) -> dict[str, Any]:
    """chat.postMessage arguments (less channel and thread) for a core message."""
    blocks = sections(message.text)
    elements = action_elements(message.actions)
    if elements:
        blocks.append({"type": "actions", "block_id": f"case:{message.escalation_id}", "elements": elements})
    fallback = escape(message.text.splitlines()[0] if message.text else "")
    return {"text": fallback[:300], "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


# -- modals --------------------------------------------------------------------------------------


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
    dispatch: bool = False,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": {**element, "action_id": element.get("action_id", "value")},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    if dispatch:
        block["dispatch_action"] = True
    return block


def _text(multiline: bool = False, max_length: int = 3000, placeholder: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return element


def _modal(callback_id: str, title: str, submit: str, blocks: list[dict[str, Any]], metadata: dict) -> dict:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def raise_modal(
    *,
    policies: list[Policy],
    policy: Policy,
    risk_now: bool | None,
    emergency: str | None,
    ask_about_me: bool,
    preview: str,
    suggested_target: datetime | None,
) -> dict[str, Any]:
    """The /escalate form: the immediate-risk question first, then the difference itself."""
    yes, no = _option("yes", "Yes"), _option("no", "No")
    risk_element: dict[str, Any] = {"type": "radio_buttons", "action_id": "risk_now", "options": [yes, no]}
    if risk_now is not None:
        risk_element["initial_option"] = yes if risk_now else no
    blocks: list[dict[str, Any]] = [
        _input("risk_now", "Is the child at immediate risk of harm right now?", risk_element, dispatch=True)
    ]
    if risk_now and emergency:
        blocks += sections(emergency)
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "Do that first. This difference will be recorded as urgent."}
                ],
            }
        )
    blocks.append({"type": "divider"})
    if ask_about_me:
        blocks.append(_input("my_agency", "Your agency", _text(max_length=100)))
        blocks.append(_input("my_role", "Your role", _text(max_length=100)))
    options = [_option(p.id, p.name) for p in policies]
    blocks.append(
        _input(
            "policy",
            "Policy",
            {
                "type": "static_select",
                "action_id": "policy",
                "options": options,
                "initial_option": _option(policy.id, policy.name),
            },
            dispatch=True,
        )
    )
    blocks.append(
        _input(
            "case_reference",
            "The agency's case reference",
            _text(max_length=40),
            hint="Never the child's name.",
        )
    )
    blocks.append(_input("counterpart", "The other professional", {"type": "users_select"}))
    blocks.append(
        _input(
            "counterpart_agency",
            "Their agency",
            _text(max_length=100),
            optional=True,
            hint="Only needed if the bot doesn't know them yet.",
        )
    )
    categories = [_option(c.id, c.label) for c in policy.categories] + [_option("other", "Other")]
    blocks.append(_input("category", "What is it about?", {"type": "static_select", "options": categories}))
    blocks.append(_input("issue", "The issue, in your words", _text(multiline=True)))
    blocks.append(_input("risk", "The risk to the child", _text(multiline=True)))
    blocks.append(_input("outcome_wanted", "The outcome you want", _text(multiline=True, max_length=1000)))
    if policy.urgent_when and not risk_now:
        blocks.append(
            _input(
                "urgent",
                "Urgent?",
                {
                    "type": "checkboxes",
                    "options": [_option("urgent", f"Yes: {policy.urgent_when}")],
                },
                optional=True,
            )
        )
    if any(m.after.value == "disagreement" for m in policy.stage(1).milestones):
        blocks.append(
            _input(
                "disagreement_on",
                "When did the disagreement arise, or the decision reach you?",
                {"type": "datepicker"},
                optional=True,
            )
        )
    if not policy.stage(1).standard.given and suggested_target is not None:
        blocks.append(
            _input(
                "target_due",
                "Target date (locally agreed)",
                {"type": "datetimepicker", "initial_date_time": int(suggested_target.timestamp())},
                hint="This policy sets no timescale. Agree a target with the other professional.",
            )
        )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(preview)}]})
    return _modal(
        "escalate_raise",
        "Raise a difference",
        "Raise",
        blocks,
        {"policy": policy.id, "risk_now": risk_now},
    )


def note_modal(escalation_id: str) -> dict[str, Any]:
    """The note form: form of communication, who, what was discussed, outcome."""
    forms = [_option(f, f) for f in FORMS]
    blocks = [
        _input("form", "Form of communication", {"type": "static_select", "options": forms}),
        _input("involved", "Who was involved", _text(max_length=200)),
        _input("discussed", "What was discussed", _text(multiline=True)),
        _input("outcome", "The outcome", _text(multiline=True), optional=True),
    ]
    return _modal("escalate_note", f"Note on {escalation_id}", "Add note", blocks, {"id": escalation_id})


def resolve_modal(escalation_id: str) -> dict[str, Any]:
    blocks = [
        _input("outcome", "What was agreed", _text(multiline=True)),
        _input(
            "agreed_actions",
            "Agreed actions (one per line)",
            _text(multiline=True),
            optional=True,
            hint="Who does what, by when.",
        ),
    ]
    return _modal(
        "escalate_resolve", f"Resolve {escalation_id}", "Record outcome", blocks, {"id": escalation_id}
    )


def next_stage_modal(escalation_id: str, *, next_title: str, suggested_target: datetime | None) -> dict:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"Next: *{escape(next_title)}*"}},
        _input("reason", "Why it needs to go further", _text(multiline=True, max_length=200), optional=True),
    ]
    if suggested_target is not None:
        blocks.append(
            _input(
                "target_due",
                "Target date (locally agreed)",
                {"type": "datetimepicker", "initial_date_time": int(suggested_target.timestamp())},
                hint="The policy sets no timescale for this stage.",
            )
        )
    return _modal("escalate_next", f"Escalate {escalation_id}", "Escalate", blocks, {"id": escalation_id})


def withdraw_modal(escalation_id: str) -> dict[str, Any]:
    blocks = [_input("reason", "Why you are withdrawing it", _text(multiline=True, max_length=1000))]
    return _modal("escalate_withdraw", f"Withdraw {escalation_id}", "Withdraw", blocks, {"id": escalation_id})


def due_modal(escalation_id: str, current_due: datetime | None) -> dict[str, Any]:
    hint = f"It is due by {when(current_due)} now. You can only bring it forward." if current_due else None
    blocks = [
        _input("due", "New due time", {"type": "datetimepicker"}, hint=hint),
        _input("reason", "Why", _text(max_length=200), optional=True),
    ]
    return _modal(
        "escalate_due", f"Earlier due {escalation_id}", "Bring forward", blocks, {"id": escalation_id}
    )


def home_view(rows: list[EscalationRow], now: datetime, *, due_soon_before: datetime) -> dict[str, Any]:
    """App Home: the person's escalations, overdue first, then due soon, then the rest."""
    open_rows = [r for r in rows if r.status == "open"]
    overdue = [r for r in open_rows if r.due and r.due <= now]
    soon = [r for r in open_rows if r.due and now < r.due <= due_soon_before]
    other = [r for r in open_rows if r not in overdue and r not in soon]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain("Your escalations", 150)},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "Raise a professional difference with `/escalate`."}],
        },
    ]
    for title, group in (("Overdue", overdue), ("Due soon", soon), ("Open", other)):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}* ({len(group)})"}})
        for row in group[:30]:
            due = f"due {when(row.due)}" if row.due else "no due time"
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*{row.id}* · case {escape(row.case_reference)} · {row.policy_id} · "
                        f"stage {row.stage} · {due}",
                    },
                    "accessory": {
                        "type": "button",
                        "action_id": "esc:show",
                        "text": plain("Show"),
                        "value": row.id,
                    },
                }
            )
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:100]}
