"""Rendering for Slack: core messages to Block Kit, and the modals and App Home views.

Every piece of text that can hold user input is escaped here, so no `<!channel>` or forged link
can pass through, and bounded to Slack's limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from adapters.agreed_actions import ROWS
from bot.calendar import WorkingCalendar
from bot.listing import Listing, overdue_by
from bot.messages import NOTE_FORMS, Action, ActionKind, Message
from bot.people import Person
from bot.people.search import SHORTEST_QUERY, choice_label, choice_value
from bot.phones import dialable, tel_uri
from bot.policy import Policy
from bot.wording import split_text, when

SECTION_LIMIT = 3000  # Slack's limit on a section's text
SECTION_TARGET = 2600  # what we fill a section to, leaving room for tel: links
SECTIONS_PER_MESSAGE = 4  # about 10,000 characters: a longer answer goes as several messages
SECTIONS_PER_CASE_MESSAGE = 12  # a case message keeps its summary and history together
MODAL_BLOCKS = 100  # Slack's limit on a modal's blocks
HOME_ROWS = 25  # per group on App Home, so three full groups stay within its 100 blocks
FORMS = ("Phone call", "Meeting", "Email", "Message", "Letter", "Other")
BUTTON_STYLE = {
    ActionKind.RESOLVE: "primary",
    ActionKind.AGREE_RESOLVED: "primary",
    ActionKind.WITHDRAW: "danger",
}
NOTE_ACTIONS = {*NOTE_FORMS, ActionKind.NOTE_DETAILS}
PICKERS = {ActionKind.NAME_MANAGER: "Choose your line manager", ActionKind.NAME_ROLE_HOLDER: "Choose them"}


def escape(text: str) -> str:
    """Slack's three control characters, so user text is shown as typed and never acts."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text, "emoji": True}


def tel_links(mrkdwn: str) -> str:
    """Phone numbers as links a phone can dial, shown as the document prints them."""
    pieces, at = [], 0
    for match in dialable(mrkdwn):
        pieces += [mrkdwn[at : match.start()], f"<{tel_uri(match.group())}|{match.group()}>"]
        at = match.end()
    return "".join([*pieces, mrkdwn[at:]])


def _pieces(mrkdwn: str, limit: int = SECTION_TARGET) -> list[str]:
    """Section texts: split between lines or words (never inside one), numbers made tappable."""
    pieces = []
    for piece in split_text(mrkdwn, limit):
        linked = tel_links(piece)
        pieces += [linked] if len(linked) <= SECTION_LIMIT else _pieces(piece, limit // 2)
    return pieces


def sections(text: str, *, mrkdwn: bool = False) -> list[dict[str, Any]]:
    """Text as mrkdwn sections, all of it: escaped (unless it is our own mrkdwn already), the first
    line (the escalation heading) in bold."""
    escaped = text if mrkdwn else escape(text)
    first, _, rest = escaped.partition("\n")
    if first and rest and first.startswith("E-"):
        # The heading (id, case reference, policy) is bold and never linked: a case reference
        # is not a number to ring.
        pieces = _pieces(rest)
        pieces[0] = f"*{first}*\n{pieces[0]}"
        if len(pieces[0]) > SECTION_LIMIT:
            pieces[0:1] = [f"*{first}*", pieces[0].split("\n", 1)[1]]
        return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in pieces]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in _pieces(escaped)]


def _fallback(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:300]


def reply_payloads(
    text: str, *, mrkdwn: bool = False, per_message: int = SECTIONS_PER_MESSAGE
) -> list[dict[str, Any]]:
    """A long answer as several messages (text and blocks each), in order; nothing is cut."""
    blocks = sections(text, mrkdwn=mrkdwn)
    groups = [blocks[i : i + per_message] for i in range(0, len(blocks), per_message)]
    return [
        {"text": _fallback(group[0]["text"]["text"]), "blocks": group, "unfurl_links": False}
        for group in groups
    ]


def action_elements(actions: Iterable[Action]) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = []
    for action in actions:
        if action.kind in PICKERS:
            # The partnership's directory first (anyone, any agency), then this workspace's own
            # people, for a colleague the directory does not hold yet.
            elements.append(people_search(f"esc:{action.kind.value}", PICKERS[action.kind]))
            elements.append(
                {
                    "type": "users_select",
                    "action_id": f"esc:{action.kind.value}:workspace",
                    "placeholder": plain("Or someone in this workspace"),
                }
            )
            continue
        button: dict[str, Any] = {
            "type": "button",
            "action_id": f"esc:{action.kind.value}",
            "text": plain(action.label),
            # What the button is about: the escalation, and the note it answers for, if any.
            "value": action.escalation_id if action.ref is None else f"{action.escalation_id}|{action.ref}",
        }
        if action.kind in BUTTON_STYLE:
            button["style"] = BUTTON_STYLE[action.kind]
        elements.append(button)
    return elements


def message_payloads(message: Message) -> list[dict[str, Any]]:
    """chat.postMessage arguments (less channel and thread) for a core message: one message, or
    several in order when it is too long for one; the buttons go on the first."""
    payloads = [
        {**p, "unfurl_media": False}
        for p in reply_payloads(message.text, per_message=SECTIONS_PER_CASE_MESSAGE)
    ]
    payloads[0]["text"] = escape(_fallback(message.text))
    elements = action_elements(message.actions)
    if elements:
        payloads[0]["blocks"].append(
            {"type": "actions", "block_id": _actions_block_id(message), "elements": elements}
        )
    return payloads


def _actions_block_id(message: Message) -> str:
    # A question's buttons say which question they answer: a people picker has no value of its own.
    refs = [a.ref for a in message.actions if a.ref and a.kind is ActionKind.NAME_ROLE_HOLDER]
    notes = [a.ref for a in message.actions if a.ref and a.kind in NOTE_ACTIONS]
    if refs:
        return f"question:{refs[0]}"
    return f"note:{message.escalation_id}:{notes[0]}" if notes else f"case:{message.escalation_id}"


# -- modals --------------------------------------------------------------------------------------


OPTION_TEXT = 75  # Slack's limit on an option's text


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label, OPTION_TEXT), "value": value}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def people_search(action_id: str, placeholder: str) -> dict[str, Any]:
    """A menu searching the partnership's directory as the person types (the bot's options
    handler answers it), so someone in another agency's workspace, or on no platform, can be chosen."""
    return {
        "type": "external_select",
        "action_id": action_id,
        "placeholder": plain(placeholder, 150),
        "min_query_length": SHORTEST_QUERY,
    }


def people_options(people: Iterable[Person]) -> list[dict[str, Any]]:
    """The options handler's answer: each person as "Name, role, agency"."""
    return [_option(choice_value(p), choice_label(p, OPTION_TEXT)) for p in people]


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
    blocks.append(
        _input(
            "counterpart",
            "The other professional",
            people_search("counterpart", "Type their name, agency, role or email"),
            optional=True,
            hint="Anyone in the partnership, in any agency.",
        )
    )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "*Not in the list?* Give their details and the bot will email them.",
                }
            ],
        }
    )
    blocks.append(_input("counterpart_name", "Their name", _text(max_length=200), optional=True))
    blocks.append(_input("counterpart_agency", "Their agency", _text(max_length=200), optional=True))
    blocks.append(_input("counterpart_role", "Their role", _text(max_length=200), optional=True))
    blocks.append(
        _input(
            "counterpart_email",
            "Their work email",
            {"type": "email_text_input"},
            optional=True,
        )
    )
    categories = [_option(c.id, c.label) for c in policy.categories] + [_option("other", "Other")]
    # A menu option holds 75 characters: where the policy's words are longer, they are given in
    # full beneath the menu rather than lost.
    long = [c.label for c in policy.categories if len(c.label) > OPTION_TEXT]
    in_full = "In full: " + " / ".join(c.label for c in policy.categories) if long else None
    blocks.append(
        _input(
            "category", "What is it about?", {"type": "static_select", "options": categories}, hint=in_full
        )
    )
    blocks.append(_input("issue", "The issue, in your words", _text(multiline=True)))
    blocks.append(_input("risk", "The risk to the child", _text(multiline=True)))
    blocks.append(_input("outcome_wanted", "The outcome you want", _text(multiline=True, max_length=1000)))
    if policy.urgent_when and not risk_now:
        blocks.append(
            _input(
                "urgent",
                "Urgent?",
                {"type": "checkboxes", "options": [_option("urgent", "Yes, it is urgent")]},
                optional=True,
                hint=f"The {policy.short_name} policy: urgent when {_lower_first(policy.urgent_when)}.",
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


def resolve_modal(escalation_id: str, owners: list[tuple[str, str]] = ()) -> dict[str, Any]:
    """The outcome, then agreed actions: up to two with who does it and by when (the owner is
    reminded on the day), and any others as free text."""
    blocks: list[dict[str, Any]] = [_input("outcome", "What was agreed", _text(multiline=True))]
    options = [_option(person_id, label) for person_id, label in owners]
    for n in range(1, ROWS + 1 if options else 1):
        blocks += [
            _input(f"action_{n}", f"Agreed action {n}", _text(max_length=200), optional=True),
            _input(
                f"owner_{n}", "Who will do it", {"type": "static_select", "options": options}, optional=True
            ),
            _input(f"by_{n}", "By when", {"type": "datepicker"}, optional=True),
        ]
    blocks.append(
        _input(
            "agreed_actions",
            "Other agreed actions (one per line)",
            _text(multiline=True),
            optional=True,
            hint="Who does what, by when.",
        )
    )
    return _modal(
        "escalate_resolve", f"Resolve {escalation_id}", "Record outcome", blocks, {"id": escalation_id}
    )


def next_stage_modal(escalation_id: str, *, next_title: str, suggested_target: datetime | None) -> dict:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"Next: *{escape(next_title)}*"}},
        _input(
            "reason",
            "Why it could not be resolved at this stage (it goes on the record)",
            _text(multiline=True, max_length=200),
        ),
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


def reason_modal(callback: str, title: str, label: str, button: str, escalation_id: str) -> dict[str, Any]:
    """A modal that asks for one reason: not agreed, reopen, withdraw."""
    blocks = [_input("reason", label, _text(multiline=True, max_length=1000))]
    return _modal(callback, title, button, blocks, {"id": escalation_id})


def not_agreed_modal(escalation_id: str) -> dict[str, Any]:
    label = "Why you do not agree it is resolved (the other side will see this)"
    return reason_modal("escalate_not_agreed", f"Not agreed: {escalation_id}", label, "Send", escalation_id)


def note_details_modal(escalation_id: str, note: int) -> dict[str, Any]:
    blocks = [
        _input("involved", "Who was involved", _text(max_length=200)),
        _input("outcome", "The outcome (what was agreed or decided)", _text(multiline=True, max_length=1000)),
    ]
    meta = {"id": escalation_id, "note": note}
    return _modal("escalate_note_details", f"Note on {escalation_id}", "Save", blocks, meta)


def reopen_modal(escalation_id: str) -> dict[str, Any]:
    label = "Why it needs reopening (e.g. which agreed action was not done)"
    return reason_modal("escalate_reopen", f"Reopen {escalation_id}", label, "Reopen", escalation_id)


def withdraw_modal(escalation_id: str) -> dict[str, Any]:
    blocks = [_input("reason", "Why you are withdrawing it", _text(multiline=True, max_length=1000))]
    return _modal("escalate_withdraw", f"Withdraw {escalation_id}", "Withdraw", blocks, {"id": escalation_id})


def urgent_modal(escalation_id: str, urgent_when: str | None) -> dict[str, Any]:
    """Marking a difference urgent: why, against the policy's own words for when it is urgent."""
    hint = f"The policy: urgent when {_lower_first(urgent_when)}." if urgent_when else None
    blocks = [
        _input("reason", "Why the child may now be at increased risk", _text(multiline=True), hint=hint)
    ]
    return _modal("escalate_urgent", f"Urgent {escalation_id}", "Mark urgent", blocks, {"id": escalation_id})


def due_modal(escalation_id: str, current_due: datetime | None) -> dict[str, Any]:
    hint = f"It is due by {when(current_due)} now. You can only bring it forward." if current_due else None
    blocks = [
        _input("due", "New due time", {"type": "datetimepicker"}, hint=hint),
        _input("reason", "Why", _text(max_length=200), optional=True),
    ]
    return _modal(
        "escalate_due", f"Earlier due {escalation_id}", "Bring forward", blocks, {"id": escalation_id}
    )


def home_view(
    listing: Listing, calendar: WorkingCalendar, *, due_soon_before: datetime, viewer: str
) -> dict[str, Any]:
    """App Home: the escalations the person can see, overdue first (saying by how long), then
    due soon, then the rest; a lead's read-only ones say so."""
    now = listing.now
    open_rows = [r for r in listing.rows if r.status == "open"]
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
        for row in group[:HOME_ROWS]:
            late = overdue_by(row, now, calendar)
            due = (
                f"*{late}* (was due {when(row.due)})"
                if late
                else f"due {when(row.due)}"
                if row.due
                else "no due time"
            )
            read_only = " · read only" if viewer not in row.participants else ""
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*{row.id}* · case {escape(row.case_reference)} · {row.policy_id} · "
                        f"stage {row.stage} · {due}{read_only}",
                    },
                    "accessory": {
                        "type": "button",
                        "action_id": "esc:show",
                        "text": plain("Show"),
                        "value": row.id,
                    },
                }
            )
        if len(group) > HOME_ROWS:
            more = f"…and {len(group) - HOME_ROWS} more {title.lower()}: `/escalate list` shows them all."
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
        blocks.append({"type": "divider"})
    if listing.more:
        more = f"…and {listing.more} more: `/escalate list` shows them all, overdue first."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return {"type": "home", "blocks": blocks}
