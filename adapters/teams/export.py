"""The case record sent to Teams as files the person can save to the child's record.

In a 1:1 chat the bot offers each file with Teams' file consent card; on Accept, Teams gives an
upload URL in the person's OneDrive, the bot uploads the file there and shows it as a file card.
On Decline, or where the upload fails, the record comes as one formatted card instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from botbuilder.schema import Attachment

from adapters.record_files import record_card_body, record_docx

log = logging.getLogger("escalation_bot.teams")
CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
UPLOAD_TIMEOUT = 30.0
FORMATS = {
    "docx": "a Word document, to attach to the child's file",
    "md": "plain text (Markdown), for a case system that imports text",
}


@dataclass(frozen=True)
class RecordFile:
    name: str
    content: bytes


def record_file(escalation_id: str, markdown: str, fmt: str) -> RecordFile:
    """The record in one of FORMATS, named for the escalation."""
    content = record_docx(markdown) if fmt == "docx" else markdown.encode("utf-8")
    return RecordFile(f"{escalation_id} case record.{fmt}", content)


def consent_attachments(escalation_id: str, markdown: str) -> list[Attachment]:
    """One file consent card per format; Accept uploads that file to the person's OneDrive."""
    attachments = []
    for fmt, what in FORMATS.items():
        file = record_file(escalation_id, markdown, fmt)
        content = {
            "description": f"The case record of {escalation_id}: {what}.",
            "sizeInBytes": len(file.content),
            "acceptContext": {"escalation": escalation_id, "format": fmt},
            "declineContext": {"escalation": escalation_id, "format": fmt},
        }
        attachments.append(Attachment(content_type=CONSENT, name=file.name, content=content))
    return attachments


def file_info_attachment(upload: dict[str, Any]) -> Attachment:
    """The uploaded file, shown in the chat as a file the person can open or save."""
    return Attachment(
        content_type=FILE_INFO,
        name=upload.get("name"),
        content_url=upload.get("contentUrl"),
        content={"uniqueId": upload.get("uniqueId"), "fileType": upload.get("fileType")},
    )


def may_upload_to(url: str) -> bool:
    """Teams gives an https OneDrive address; plain http only to this machine (tests, local runs)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"}
    )


async def upload(url: str, content: bytes) -> None:
    """Put the whole file in one request, as Teams' upload session allows for small files."""
    headers = {
        "Content-Length": str(len(content)),
        "Content-Range": f"bytes 0-{len(content) - 1}/{len(content)}",
    }
    timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.put(url, data=content, headers=headers) as r,
    ):
        if r.status >= 300:
            raise OSError(f"upload refused ({r.status})")


def record_card(markdown: str) -> dict[str, Any]:
    """The whole record as one formatted card, where a file cannot be sent."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": record_card_body(markdown),
    }
