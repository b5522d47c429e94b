"""The case record as files and cards a person can keep: a Word document and the Markdown, or one
formatted Adaptive Card, never raw Markdown syntax on a screen.

The core writes the record as Markdown of a small fixed shape (bot/record.py); this reads that
shape back into blocks, so every rendering shows the same record.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from docx import Document  # python-docx: Word opens it, and case systems accept it as an attachment

FACT = re.compile(r"^- \*\*(?P<key>[^*]+):\*\* ?(?P<value>.*)$")
CARD_LIMIT = 24_000  # bytes of card JSON; Teams refuses a card over about 28 KB


@dataclass
class Section:
    """A heading and what follows it: facts (key, value), table rows, or plain lines."""

    level: int
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def sections(markdown: str) -> list[Section]:
    """The record's headings, facts, tables and lines, as written by bot/record.py."""
    found: list[Section] = []
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        heading = re.match(r"^(#{1,3}) (.*)$", line)
        if heading:
            found.append(Section(len(heading.group(1)), heading.group(2)))
            continue
        if not found:
            found.append(Section(1, ""))
        current = found[-1]
        fact = FACT.match(line)
        if fact:
            current.facts.append((fact["key"], fact["value"]))
        elif line.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip("|"))]
            if not all(set(c) <= {"-"} for c in cells):
                current.rows.append(cells)
        else:
            current.lines.append(line)
    return found


def record_docx(markdown: str) -> bytes:
    """The record as a Word document."""
    document = Document()
    for section in sections(markdown):
        if section.title:
            document.add_heading(section.title, level=min(section.level - 1, 2))
        for key, value in section.facts:
            paragraph = document.add_paragraph()
            paragraph.add_run(f"{key}: ").bold = True
            paragraph.add_run(value)
        for line in section.lines:
            document.add_paragraph(line)
        if section.rows:
            table = document.add_table(rows=0, cols=len(section.rows[0]))
            table.style = "Table Grid"
            for n, row in enumerate(section.rows):
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=False):
                    cell.text = text
                    if n == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def record_card_body(markdown: str, limit: int = CARD_LIMIT) -> list[dict[str, Any]]:
    """The record as Adaptive Card elements: headings, fact sets and plain text. When it will not
    fit in one card, the newest entries are kept and the card says how many earlier ones it left
    out (the file has them all)."""
    parts = sections(markdown)
    head = [p for p in parts if p.level < 3 and not p.rows]
    entries = [p for p in parts if p.level == 3]
    tables = [p for p in parts if p.rows]
    body = [element for p in head for element in _elements(p)]
    tail = [element for p in tables for element in _elements(p)]
    kept: list[dict[str, Any]] = []
    size = len(repr(body)) + len(repr(tail))
    for entry in reversed(entries):
        elements = _elements(entry)
        size += len(repr(elements))
        if size > limit:
            break
        kept = elements + kept
    shown = sum(1 for e in kept if e.get("style") == "emphasis")
    if shown < len(entries):
        body.append(
            _text(f"{len(entries) - shown} earlier entries are in the file (ask for the export in our chat).")
        )
    return body + kept + tail


def _elements(section: Section) -> list[dict[str, Any]]:
    # Text runs only: user text in a record is shown as typed, never read as markdown.
    items: list[dict[str, Any]] = []
    if section.title:
        items.append(_runs((section.title, {"weight": "Bolder", "size": _size(section.level)})))
    items += [_runs((f"{k}: ", {"weight": "Bolder"}), (v, {})) for k, v in section.facts]
    items += [_runs((line, {})) for line in section.lines]
    if section.rows:
        header, *rows = section.rows
        for row in rows:
            runs = [
                part
                for h, v in zip(header, row, strict=False)
                for part in ((f"{h}: ", {"weight": "Bolder"}), (f"{v}  ", {}))
            ]
            items.append({**_runs(*runs), "separator": True})
    if section.level == 3:
        return [{"type": "Container", "style": "emphasis", "items": items, "separator": True}]
    return items


def _size(level: int) -> str:
    return {1: "Large", 2: "Medium"}.get(level, "Default")


def _runs(*parts: tuple[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "type": "RichTextBlock",
        "inlines": [{"type": "TextRun", "text": t, **style} for t, style in parts],
    }


def _text(text: str) -> dict[str, Any]:
    return _runs((text, {}))
