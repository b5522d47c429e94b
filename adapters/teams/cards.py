"""Adaptive Cards for Teams: the raise form, the case card, the action forms and plain messages.

User text is shown with RichTextBlock text runs, which Teams renders as plain text (no markdown,
no links), and bounded so one message cannot flood a chat.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from adapters.agreed_actions import ROWS
from bot.calendar import LONDON
from bot.messages import Action, ActionKind
from bot.phones import dialable, tel_uri
from bot.policy import Policy
from bot.wording import split_text

CARD_TEXT_LIMIT = 12000
CARD_TEXT = 8000  # what one card carries of a long message; the rest follows in further cards
FORMS = ("Phone call", "Meeting", "Email", "Teams message", "Letter", "Other")
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
    }
    if actions:
        content["actions"] = actions
    return content


def attachment(content: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CONTENT_TYPE, "content": content}


def plain_text(text: str, *, weight: str | None = None, color: str | None = None) -> dict[str, Any]:
    """Text exactly as given: a text run is never read as markdown."""
    text = text if len(text) <= CARD_TEXT_LIMIT else text[: CARD_TEXT_LIMIT - 1] + "…"
    run: dict[str, Any] = {"type": "TextRun", "text": text}
    if weight:
        run["weight"] = weight
    if color:
        run["color"] = color
    return {"type": "RichTextBlock", "inlines": [run]}


def rich_text(text: str, *, weight: str | None = None, link: bool = True) -> dict[str, Any]:
    """Text exactly as given, with each phone number a run a phone can dial (a tel: link)."""
    style = {"weight": weight} if weight else {}
    inlines: list[dict[str, Any]] = []
    at = 0
    for match in dialable(text) if link else ():
        if match.start() > at:
            inlines.append({"type": "TextRun", "text": text[at : match.start()], **style})
        inlines.append(
            {
                "type": "TextRun",
                "text": match.group(),
                "color": "accent",
                "selectAction": {"type": "Action.OpenUrl", "url": tel_uri(match.group())},
                **style,
            }
        )
        at = match.end()
    if at < len(text) or not inlines:
        inlines.append({"type": "TextRun", "text": text[at:], **style})
    return {"type": "RichTextBlock", "inlines": inlines}


def text_body(text: str) -> list[dict[str, Any]]:
    """A message's text: the first line (the escalation heading) bold, the rest plain."""
    first, _, rest = text.partition("\n")
    # An escalation's heading (id, case reference, policy) is never linked: a case reference is not
    # a number to ring.
    body = [rich_text(first, weight="bolder", link=not first.startswith("E-"))]
    if rest.strip():
        body.append(rich_text(rest))
    return body


def text_parts(text: str) -> list[str]:
    """A long message in the pieces its cards carry, in order: split between lines or words."""
    return split_text(text, CARD_TEXT)


def submit(title: str, action: str, **data: Any) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": title, "data": {"action": action, **data}}


ACTION_KINDS = {
    ActionKind.ADD_NOTE: "add_note",
    ActionKind.RESOLVE: "resolve",
    ActionKind.AGREE_RESOLVED: "agree_resolved",
    ActionKind.NOT_AGREED: "not_agreed",
    ActionKind.ESCALATE: "escalate",
    ActionKind.WITHDRAW: "withdraw",
    ActionKind.SET_EARLIER_DUE: "set_earlier_due",
    ActionKind.MARK_URGENT: "mark_urgent",
    ActionKind.SHOW: "show",
    ActionKind.NOTE_PHONE: "note_phone",
    ActionKind.NOTE_MEETING: "note_meeting",
    ActionKind.NOTE_EMAIL: "note_email",
    ActionKind.NOTE_MESSAGE: "note_message",
    ActionKind.NOTE_DETAILS: "note_details",
    ActionKind.MILESTONE_DONE: "milestone_done",
    ActionKind.ACTION_DONE: "action_done",
    ActionKind.REOPEN: "reopen",
}


def message_cards(text: str, actions: tuple[Action, ...] = ()) -> list[dict[str, Any]]:
    """A core message as one card, or several in order when it is long; the actions go on the first."""
    # The core names Slack's command; in Teams the same words are typed to the bot without a slash.
    first, *rest = text_parts(text.replace("/escalate ", "escalate "))
    return [message_card(first, actions), *(card(text_body(part)) for part in rest)]


def message_card(text: str, actions: tuple[Action, ...] = ()) -> dict[str, Any]:
    """A core message as a card, with its one-tap actions."""
    body = text_body(text)
    buttons = []
    for action in actions:
        if action.kind is ActionKind.NAME_ROLE_HOLDER:
            body += [
                people_picker("person", "Who is it?"),
                *newcomer_inputs("person", with_agency=False, values={}),
            ]
            buttons.append(
                submit("Name them", "name_role_holder", id=action.escalation_id, question=action.ref)
            )
        elif action.kind is ActionKind.NAME_MANAGER:
            body += [
                people_picker("manager", "Your line manager"),
                *newcomer_inputs("manager", with_agency=False, values={}),
            ]
            buttons.append(submit("Name them", "name_manager", id=action.escalation_id))
        elif action.ref is not None:
            buttons.append(
                submit(action.label, ACTION_KINDS[action.kind], id=action.escalation_id, ref=action.ref)
            )
        else:
            buttons.append(submit(action.label, ACTION_KINDS[action.kind], id=action.escalation_id))
    return card(body, buttons)


PEOPLE_DATASET = "people"
# Teams shows at most 15 choices from a search.
SEARCH_RESULTS = 15


def people_picker(input_id: str, label: str, *, required: bool = False) -> dict[str, Any]:
    """A typeahead searching the partnership's directory (the bot answers Teams' application/search
    invoke), not Teams' own picker, which searches only one organisation."""
    return {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "label": label,
        "isRequired": required,
        "style": "filtered",
        "placeholder": "Type their name, agency, role or email",
        "choices": [],
        "choices.data": {"type": "Data.Query", "dataset": PEOPLE_DATASET, "count": SEARCH_RESULTS},
    }


def search_response(people: list[tuple[str, str]]) -> dict[str, Any]:
    """The application/search invoke's answer: each (value, title) as a choice."""
    return {
        "type": "application/vnd.microsoft.search.searchResponse",
        "value": {"results": [{"value": value, "title": title} for value, title in people]},
    }


def newcomer_inputs(prefix: str, *, with_agency: bool, values: dict[str, Any]) -> list[dict[str, Any]]:
    """ "Not in the list?": the details the bot needs to reach someone by email."""
    fields = [("name", "Their name", 200)]
    if with_agency:
        fields += [("agency", "Their agency", 200), ("role", "Their role", 200)]
    fields.append(("email", "Their work email", 254))
    intro = "Not in the list? Give their details and the bot will email them."
    body: list[dict[str, Any]] = [plain_text(intro)]
    for field, label, limit in fields:
        key = f"{prefix}_{field}"
        body.append(_text_input(key, label, max_length=limit, required=False, value=values.get(key)))
    return body


def _text_input(
    input_id: str,
    label: str,
    *,
    multiline: bool = False,
    max_length: int = 3000,
    required: bool = True,
    value: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "Input.Text",
        "id": input_id,
        "label": label,
        "isMultiline": multiline,
        "maxLength": max_length,
        "isRequired": required,
    }
    if value:
        element["value"] = value
    return element


def _choices(
    input_id: str,
    label: str,
    options: list[tuple[str, str]],
    *,
    value: str | None = None,
    expanded: bool = False,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "label": label,
        "isRequired": True,
        "style": "expanded" if expanded else "compact",
        "choices": [{"title": title, "value": v} for v, title in options],
    }
    if value:
        element["value"] = value
    return element


def target_inputs(suggested: datetime) -> list[dict[str, Any]]:
    """A locally agreed target: date and time inputs, the suggestion filled in."""
    local = suggested.astimezone(LONDON)
    return [
        {
            "type": "Input.Date",
            "id": "target_date",
            "label": "Target date (locally agreed)",
            "value": local.strftime("%Y-%m-%d"),
            "isRequired": True,
        },
        {
            "type": "Input.Time",
            "id": "target_time",
            "label": "Target time",
            "value": local.strftime("%H:%M"),
            "isRequired": True,
        },
    ]


def with_errors(body: list[dict[str, Any]], errors: dict[str, str]) -> list[dict[str, Any]]:
    """Each error shown right after the input it concerns (or at the top if none matches)."""
    ids = {element.get("id") for element in body}
    result: list[dict[str, Any]] = [
        plain_text(message, color="attention") for field, message in errors.items() if field not in ids
    ]
    for element in body:
        result.append(element)
        if element.get("id") in errors:
            result.append(plain_text(errors[element["id"]], color="attention"))
    return result


def risk_card(policies: list[Policy], default_policy: str) -> dict[str, Any]:
    """Step one of raising: the immediate-risk question comes first, with the policy."""
    body = [
        plain_text("Raise a professional difference", weight="bolder"),
        _choices(
            "policy",
            "Policy",
            [(p.id, p.name) for p in policies],
            value=default_policy,
        ),
        plain_text("Is the child at immediate risk of harm right now?"),
    ]
    return card(
        body,
        [
            submit("Yes: at immediate risk", "risk_answer", risk_now="yes"),
            submit("No", "risk_answer", risk_now="no"),
        ],
    )


def raise_card(
    *,
    policy: Policy,
    risk_now: bool,
    ask_about_me: bool,
    preview: str,
    suggested_target: datetime | None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Step two: the difference itself, for the chosen policy; errors beside their fields."""
    values = values or {}
    body: list[dict[str, Any]] = [
        plain_text(f"Raise a professional difference: {policy.short_name} policy", weight="bolder"),
    ]
    if risk_now:
        body.append(
            plain_text("Recorded as urgent, because the child is at immediate risk.", color="attention")
        )
    if ask_about_me:
        body.append(_text_input("my_agency", "Your agency", max_length=100, value=values.get("my_agency")))
        body.append(_text_input("my_role", "Your role", max_length=100, value=values.get("my_role")))
    body += [
        _text_input(
            "case_reference",
            "The agency's case reference (never the child's name)",
            max_length=40,
            value=values.get("case_reference"),
        ),
        people_picker("counterpart", "The other professional (anyone in the partnership)"),
        *newcomer_inputs("counterpart", with_agency=True, values=values),
        _choices(
            "category",
            "What is it about?",
            [(c.id, c.label) for c in policy.categories] + [("other", "Other")],
            value=values.get("category"),
        ),
        _text_input("issue", "The issue, in your words", multiline=True, value=values.get("issue")),
        _text_input("risk", "The risk to the child", multiline=True, value=values.get("risk")),
        _text_input(
            "outcome_wanted",
            "The outcome you want",
            multiline=True,
            max_length=1000,
            value=values.get("outcome_wanted"),
        ),
    ]
    if policy.urgent_when and not risk_now:
        body.append(
            {
                "type": "Input.Toggle",
                "id": "urgent",
                "title": f"Urgent: {policy.urgent_when}",
                "value": "false",
                "wrap": True,
            }
        )
    if any(m.after.value == "disagreement" for m in policy.stage(1).milestones):
        body.append(
            {
                "type": "Input.Date",
                "id": "disagreement_on",
                "label": "When did the disagreement arise, or the decision reach you?",
            }
        )
    if not policy.stage(1).standard.given and suggested_target is not None:
        body += [
            plain_text("This policy sets no timescale: agree a target with the other professional."),
            *target_inputs(suggested_target),
        ]
    body.append(plain_text(preview))
    if errors:
        body = with_errors(body, errors)
    # A fresh token per rendering: a double tap on a phone submits the same form twice.
    token = uuid.uuid4().hex
    return card(
        body, [submit("Raise", "raise", policy=policy.id, risk_now="yes" if risk_now else "no", form=token)]
    )


def note_card(escalation_id: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    body = [
        plain_text(f"Add a note to {escalation_id}", weight="bolder"),
        _choices("form", "Form of communication", [(f, f) for f in FORMS]),
        _text_input("involved", "Who was involved", max_length=200),
        _text_input("discussed", "What was discussed", multiline=True),
        _text_input("outcome", "The outcome", multiline=True, required=False),
    ]
    return card(with_errors(body, errors or {}), [submit("Add note", "note_submit", id=escalation_id)])


def resolve_card(
    escalation_id: str, errors: dict[str, str] | None = None, owners: list[tuple[str, str]] = ()
) -> dict[str, Any]:
    body = [
        plain_text(f"Record the outcome of {escalation_id}", weight="bolder"),
        _text_input("outcome", "What was agreed", multiline=True),
    ]
    for n in range(1, ROWS + 1 if owners else 1):
        owner = _choices(f"owner_{n}", "Who will do it", list(owners))
        owner["isRequired"] = False
        body += [
            _text_input(f"action_{n}", f"Agreed action {n}", max_length=200, required=False),
            owner,
            {"type": "Input.Date", "id": f"by_{n}", "label": "By when"},
        ]
    body.append(
        _text_input("agreed_actions", "Other agreed actions (one per line)", multiline=True, required=False)
    )
    return card(
        with_errors(body, errors or {}), [submit("Record outcome", "resolve_submit", id=escalation_id)]
    )


def next_stage_card(
    escalation_id: str,
    next_title: str,
    suggested_target: datetime | None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    body = [
        plain_text(f"Escalate {escalation_id} to {next_title}", weight="bolder"),
        _text_input(
            "reason",
            "Why it could not be resolved at this stage (it goes on the record)",
            multiline=True,
            max_length=200,
        ),
    ]
    if suggested_target is not None:
        body += target_inputs(suggested_target)
    return card(with_errors(body, errors or {}), [submit("Escalate", "escalate_submit", id=escalation_id)])


def note_details_card(escalation_id: str, note: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    body = [
        plain_text(f"Note on {escalation_id}", weight="bolder"),
        _text_input("involved", "Who was involved", max_length=200),
        _text_input("outcome", "The outcome (what was agreed or decided)", multiline=True, max_length=1000),
    ]
    return card(
        with_errors(body, errors or {}), [submit("Save", "note_details_submit", id=escalation_id, ref=note)]
    )


def reason_card(
    title: str, label: str, button: str, action: str, escalation_id: str, errors: dict[str, str] | None
) -> dict[str, Any]:
    """A card that asks for one reason and submits it: not agreed, reopen, withdraw."""
    body = [plain_text(title, weight="bolder"), _text_input("reason", label, multiline=True, max_length=1000)]
    return card(with_errors(body, errors or {}), [submit(button, action, id=escalation_id)])


def not_agreed_card(escalation_id: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    label = "Why you do not agree it is resolved (the other side will see this)"
    return reason_card(
        f"Not agreed: {escalation_id}", label, "Send", "not_agreed_submit", escalation_id, errors
    )


def answer_failed_card(escalation_id: str, errors: dict[str, str]) -> dict[str, Any]:
    """What an Agree tap shows when there is nothing left to agree (answered already)."""
    return card([plain_text(message) for message in errors.values()] or [plain_text(escalation_id)])


def reopen_card(escalation_id: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    label = "Why it needs reopening (e.g. which agreed action was not done)"
    return reason_card(f"Reopen {escalation_id}", label, "Reopen", "reopen_submit", escalation_id, errors)


def withdraw_card(escalation_id: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    body = [
        plain_text(f"Withdraw {escalation_id}", weight="bolder"),
        _text_input("reason", "Why you are withdrawing it", multiline=True, max_length=1000),
    ]
    return card(with_errors(body, errors or {}), [submit("Withdraw", "withdraw_submit", id=escalation_id)])


def urgent_card(
    escalation_id: str, urgent_when: str | None, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    """Marking a difference urgent: why, against the policy's own words for when it is urgent."""
    body = [plain_text(f"Mark {escalation_id} urgent", weight="bolder")]
    if urgent_when:
        body.append(plain_text(f"The policy: urgent when {urgent_when[0].lower()}{urgent_when[1:]}."))
    body.append(_text_input("reason", "Why the child may now be at increased risk", multiline=True))
    return card(with_errors(body, errors or {}), [submit("Mark urgent", "urgent_submit", id=escalation_id)])


def due_card(escalation_id: str, current: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    body = [
        plain_text(f"Bring {escalation_id} forward (due by {current} now)", weight="bolder"),
        {"type": "Input.Date", "id": "due_date", "label": "New due date", "isRequired": True},
        {"type": "Input.Time", "id": "due_time", "label": "New due time", "isRequired": True},
        _text_input("reason", "Why", max_length=200, required=False),
    ]
    return card(with_errors(body, errors or {}), [submit("Bring forward", "due_submit", id=escalation_id)])


def greeting_card() -> dict[str, Any]:
    return card(
        [
            plain_text("Escalation bot", weight="bolder"),
            plain_text(
                "I help you resolve professional differences about a child's safety, by your "
                "partnership's escalation policy. Type 'escalate' to raise one, 'escalate list' to see "
                "yours, or 'escalate help'. If a child is at immediate risk, call 999 first."
            ),
        ]
    )
