"""The Teams export: files the person can save to the child's record, through Teams' file consent
flow, or one formatted card; never raw Markdown syntax."""

from __future__ import annotations

import io
import json
import zipfile

from fakes.bot_connector import card_text
from fakes.teams_activities import RAISE, activity, install

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"


async def exported(teams) -> dict[str, dict]:
    url = teams.connector.service_url
    for user in ("alex", "sam"):
        await teams.post(install(url, user))
    await teams.post(activity(url, "alex", value=RAISE, reply_to_id="form-1"))
    note = {
        "action": "note_submit",
        "id": "E-0001",
        "form": "Phone call",
        "involved": "Alex and Sam",
        "discussed": "Phoned Sam: **she** | disagrees #1",
        "outcome": "Meet on Friday",
    }
    await teams.post(activity(url, "alex", value=note, reply_to_id="n1"))
    await teams.post(activity(url, "alex", text="escalate export E-0001"))
    offers = {
        a["name"]: a
        for s in teams.connector.cards_to("a:alex")
        for a in s.body.get("attachments") or []
        if a["contentType"] == CONSENT
    }
    return offers


def consent_invoke(teams, offer: dict, action: str) -> dict:
    context = offer["content"]["acceptContext" if action == "accept" else "declineContext"]
    value = {"type": "fileUpload", "action": action, "context": context}
    if action == "accept":
        value["uploadInfo"] = teams.connector.upload_info(offer["name"])
    body = activity(teams.connector.service_url, "alex", kind="invoke", value=value)
    body["name"] = "fileConsent/invoke"
    return body


async def test_accepting_uploads_a_word_document_and_shows_it_as_a_file(teams):
    offers = await exported(teams)
    assert list(offers) == ["E-0001 case record.docx", "E-0001 case record.md"]
    docx = offers["E-0001 case record.docx"]
    assert "a Word document, to attach to the child's file" in docx["content"]["description"]
    status, _ = await teams.post(consent_invoke(teams, docx, "accept"))
    assert status == 200
    content, headers = teams.connector.uploads["E-0001-case-record.docx"]
    assert headers["Content-Range"] == f"bytes 0-{len(content) - 1}/{len(content)}"
    with zipfile.ZipFile(io.BytesIO(content)) as word:
        xml = word.read("word/document.xml").decode()
    for expected in (
        "Case record: escalation E-0001",
        "Camden Safeguarding Children Partnership",
        "Phone call",
    ):
        assert expected in xml
    (shown,) = [
        a
        for s in teams.connector.cards_to("a:alex")
        for a in s.body.get("attachments") or []
        if a["contentType"] == FILE_INFO
    ]
    assert shown["name"] == "E-0001 case record.docx"
    assert shown["content"]["fileType"] == "docx"


async def test_the_markdown_file_is_the_record_as_written(teams):
    offers = await exported(teams)
    await teams.post(consent_invoke(teams, offers["E-0001 case record.md"], "accept"))
    content, _ = teams.connector.uploads["E-0001-case-record.md"]
    assert content.decode().startswith("# Case record: escalation E-0001")


async def test_declining_brings_the_record_as_one_formatted_card_without_markdown(teams):
    offers = await exported(teams)
    before = len(teams.connector.cards_to("a:alex"))
    status, _ = await teams.post(consent_invoke(teams, offers["E-0001 case record.docx"], "decline"))
    assert status == 200
    # Other messages (the note's confirmation) may arrive meanwhile: the record is one card.
    (card,) = [s for s in teams.connector.cards_to("a:alex")[before:] if "Case record" in card_text(s)]
    text = card_text(card)
    assert "Case record: escalation E-0001" in text
    assert "Form of communication: Phone call" in text
    # What was typed is shown as typed; the record's own Markdown never shows.
    assert "Phoned Sam: **she** | disagrees #1" in text
    assert "- **" not in text and "# Case record" not in text and "|---" not in text
    body = card.body["attachments"][0]["content"]["body"]
    assert '"type": "TextBlock"' not in json.dumps(body)  # text runs only: nothing read as markdown


async def test_an_upload_address_that_is_not_teams_is_never_used(teams):
    offers = await exported(teams)
    invoke = consent_invoke(teams, offers["E-0001 case record.docx"], "accept")
    invoke["value"]["uploadInfo"]["uploadUrl"] = "http://169.254.169.254/latest/meta-data"
    before = len(teams.connector.cards_to("a:alex"))
    assert (await teams.post(invoke))[0] == 200
    assert teams.connector.uploads == {}
    shown = [s for s in teams.connector.cards_to("a:alex")[before:] if "Case record" in card_text(s)]
    assert len(shown) == 1  # the formatted card instead
