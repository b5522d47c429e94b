"""A core message as an email: the same words the chat platforms show, a subject that names the
escalation and what is asked, plain text with a simple HTML alternative, and a personal link to
the secure page where the recipient can act."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from bot.messages import ActionKind, Message
from bot.phones import dialable, tel_uri
from bot.wording import when

SUBJECT_LIMIT = 150
# What each action asks of the reader, in the words of the page where they can do it.
ASKS = (
    ({ActionKind.AGREE_RESOLVED, ActionKind.NOT_AGREED}, "please agree, or say why not"),
    ({ActionKind.ACTION_DONE, ActionKind.MILESTONE_DONE}, "please say when it is done"),
)
ON_THE_PAGE = {
    ActionKind.ADD_NOTE: "add a note of what was discussed",
    ActionKind.AGREE_RESOLVED: "agree that it is resolved, or say why not",
    ActionKind.ACTION_DONE: "mark your agreed action done",
    ActionKind.NOTE_DETAILS: "add who was involved and the outcome",
}
# Chat messages point at the case thread; an email's reader records on the page instead.
REWORDING = (
    ("reply in this thread to record", "use your secure page (the link below) to record"),
    (
        "Tap Agree to close it, or Not agreed to keep it open and say why",
        "On your secure page (the link below), choose Agree to close it, or Not agreed to keep it "
        "open and say why",
    ),
    ("Tap Done when it is done", "Choose Done on your secure page (the link below) when it is done"),
)
# "export E-0001" is a chat command; by email the record is downloaded from the page.
EXPORT_COMMAND = re.compile(r"The full record for the child's file: export (E-\d+)\.")
EXPORT_BY_EMAIL = r"The full record for the child's file: download it from your secure page (the link below)."
ABOUT = (
    "This message comes from the escalation bot your local safeguarding children partnership uses "
    "to track professional differences between agencies, following its escalation policy. Replies "
    "to this email are not recorded: please use your secure page."
)


def reworded(text: str) -> str:
    for chat, mail in REWORDING:
        text = text.replace(chat, mail)
    return EXPORT_COMMAND.sub(EXPORT_BY_EMAIL, text)


def subject(message: Message) -> str:
    """The first line (what happened, to which case) and what is asked of the reader."""
    first = message.text.strip().splitlines()[0] if message.text.strip() else "Escalation bot"
    if message.escalation_id and message.escalation_id not in first:
        first = f"{message.escalation_id}: {first}"
    kinds = {a.kind for a in message.actions}
    ask = next((words for wanted, words in ASKS if kinds & wanted), None)
    text = f"{first}: {ask}" if ask else first
    text = " ".join(text.split())  # never a header break
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 1] + "…"


def page_offers(message: Message) -> list[str]:
    kinds = {a.kind for a in message.actions}
    offers = [words for kind, words in ON_THE_PAGE.items() if kind in kinds]
    return offers or ["read it, add a note of what was discussed"]


def plain_body(message: Message, link: str | None, expires: datetime | None) -> str:
    parts = [reworded(message.text.strip())]
    if link:
        parts.append(
            "What to do\n"
            f"Open your secure page to {_and(page_offers(message))}, or to download the record:\n"
            f"{link}\n"
            f"The link is for you alone: please don't forward it. It works until {when(expires)}; "
            "after that the page can send a new one to this address."
        )
    parts.append(ABOUT)
    return "\n\n".join(parts) + "\n"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _html_lines(text: str) -> str:
    """Escaped text with phone numbers as links a phone can dial."""
    out, at = [], 0
    for match in dialable(text):
        out += [
            html.escape(text[at : match.start()]),
            f'<a href="{tel_uri(match.group())}">{html.escape(match.group())}</a>',
        ]
        at = match.end()
    out.append(html.escape(text[at:]))
    return "".join(out).replace("\n", "<br>\n")


def html_body(message: Message, link: str | None, expires: datetime | None) -> str:
    text = reworded(message.text.strip())
    first, _, rest = text.partition("\n")
    blocks = [f"<p><strong>{html.escape(first)}</strong></p>"]
    blocks += [f"<p>{_html_lines(p.strip())}</p>" for p in rest.split("\n\n") if p.strip()]
    if link:
        href = html.escape(link, quote=True)
        blocks += [
            f"<p>Open your secure page to {html.escape(_and(page_offers(message)))}, "
            "or to download the record:</p>",
            f'<p><a href="{href}" style="display:inline-block;padding:12px 20px;background:#1d4f91;'
            'color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold">'
            "Open your secure page</a></p>",
            f'<p style="font-size:14px">Or copy this address: '
            f'<span style="word-break:break-all">{html.escape(link)}</span><br>'
            f"The link is for you alone: please don't forward it. It works until "
            f"{html.escape(when(expires))}; after that the page can send a new one to this address.</p>",
        ]
    blocks.append(f'<p style="font-size:13px;color:#555555">{html.escape(ABOUT)}</p>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.45;'
        'color:#111111;max-width:40em;margin:0 auto;padding:12px">\n'
        + "\n".join(blocks)
        + "\n</body></html>\n"
    )


def message_id(message: Message, domain: str) -> str | None:
    """Stable across retries of one queued message (its outbox id and when it was queued), so a
    mail sent twice after a lost answer is recognisably the same mail."""
    outbox_id = message.data.get("outbox_id")
    if outbox_id is None:
        return None
    queued = int(float(message.data.get("queued_at") or 0))
    return f"<escalation-bot.outbox-{outbox_id}.{queued}@{domain}>"


def compose(
    message: Message,
    *,
    to: str,
    to_name: str,
    mail_from: str,
    now: datetime,
    link: str | None = None,
    expires: datetime | None = None,
) -> EmailMessage:
    """The email for one core message to one person."""
    record = message.text if message.data.get("file") else None
    if record is not None:
        # The record goes as the attachment; the body says what it is.
        body = (
            message.data.get("comment") or f"The case record of {message.escalation_id}, for the child's file"
        )
        message = replace(message, text=body, actions=())
    mail = EmailMessage()
    mail["Subject"] = subject(message)
    mail["From"] = mail_from
    mail["To"] = Address(display_name=" ".join(to_name.split()), addr_spec=to)
    mail["Date"] = format_datetime(now)
    domain = mail_from.rsplit("@", 1)[-1].strip(" >") or "escalation-bot.invalid"
    msgid = message_id(message, domain)
    if msgid:
        mail["Message-ID"] = msgid
    # An automatic message: out-of-office replies should not answer it (RFC 3834).
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(plain_body(message, link, expires))
    mail.add_alternative(html_body(message, link, expires), subtype="html")
    if record is not None:
        name = message.data["file"]
        subtype = "html" if name.endswith(".html") else "markdown"  # a report, or a case record
        mail.add_attachment(record.encode("utf-8"), maintype="text", subtype=subtype, filename=name)
    return mail
