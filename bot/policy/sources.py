"""Proving a policy file against the document it was encoded from.

A quote must occur in the source; so must every phone number, email address and web address the
file holds. Comparison ignores what text extraction and typesetting change (whitespace, curly
quotes, dash styles, bold and underline marks), never the words or the digits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.phones import PHONE

SEPARATOR = re.compile(r"^={20,}\s*$", re.MULTILINE)
ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\"']+")

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})
_DASHES = re.compile(r"[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]")
_MARKUP = re.compile(r"\*\*|</?u>|</?i>|\\(?=[()\[\]])")
_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")  # a Markdown link in an extraction: keep its words


@dataclass(frozen=True)
class SourceText:
    """A policy's source document: where it is, and its text (below the header) for comparison."""

    path: Path
    text: str

    @property
    def normalised(self) -> str:
        return normalise(self.text)


def source_path(policy_file: Path, policy_id: str) -> Path:
    """Where a policy file's source document lives: `sources/ID.txt` beside it."""
    return policy_file.parent / "sources" / f"{policy_id}.txt"


def read_source(path: Path) -> SourceText | None:
    """The source document at `path` (None if there is none); the header above the line of = signs
    is about the document, not part of it, so it is left out."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    found = SEPARATOR.search(raw)
    return SourceText(path, raw[found.end() :] if found else raw)


def normalise(text: str) -> str:
    """Text as compared: one space for any whitespace, straight quotes, one kind of dash, no markup."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _LINK.sub(r"\1", _MARKUP.sub("", _DASHES.sub("-", text)))
    return " ".join(text.split())


def problems(data: Mapping[str, Any], source: SourceText) -> list[str]:
    """Every quote, number and address in a policy mapping that its source does not hold."""
    document = source.normalised
    lowered = document.casefold()
    corrected = _corrections(data, lowered)
    # Whole values, as the document prints them: a number or address must be one of these, not
    # merely a run of characters somewhere in the text (020 7974 336 is not 020 7974 3369).
    printed_phones = {normalise(n) for n in PHONE.findall(document)}
    printed_emails = {e.casefold() for e in EMAIL.findall(document)}
    printed_urls = {_bare_url(u) for u in URL.findall(document)}
    found: list[str] = []
    for field, text in _strings(data):
        if _is_quote(field):
            if not _quoted(text, document):
                found.append(f"{field}: this quote is not in the source document: \u201c{_short(text)}\u201d")
            continue
        if field.startswith("source.corrections"):
            continue
        # A phone, email or url field is one whole number or address, whatever its shape.
        whole = field.rsplit(".", 1)[-1]
        phones = [text] if whole == "phone" else PHONE.findall(text)
        emails = [text] if whole == "email" else EMAIL.findall(text)
        urls = [text] if whole == "url" else URL.findall(text)
        found += [
            f"{field}: the number {n} is not in the source document"
            for n in phones
            if normalise(n) not in printed_phones
        ]
        found += [
            f"{field}: the address {e} is not in the source document"
            for e in emails
            if e.casefold() not in printed_emails
        ]
        found += [
            f"{field}: the web address {u} is not in the source document"
            for u in urls
            if _bare_url(u) not in printed_urls and _bare_url(u) not in corrected
        ]
    for i, item in enumerate((data.get("source") or {}).get("corrections", ())):
        if normalise(item["printed"]).casefold() not in lowered:
            found.append(
                f"source.corrections[{i}].printed: {item['printed']!r} is not what the source document prints"
            )
    return found


def _is_quote(field: str) -> bool:
    """Quotes are the `...quote` fields, and the immediate-risk guidance: that screen shows the
    policy's own words, so each item must be the document's sentence."""
    return field.endswith("quote") or field.startswith("emergency.guidance")


def _quoted(quote: str, document: str) -> bool:
    """True when the quote's words occur in the document, in order, `...` standing for words left
    out. A quote may start with a capital and end with a full stop where the document's sentence
    runs on."""
    fragments = [f.strip() for f in ELLIPSIS.split(normalise(quote)) if f.strip()]
    position = 0
    for i, fragment in enumerate(fragments):
        tries = [fragment]
        if i == 0:
            tries.append(fragment[0].lower() + fragment[1:])
        if i == len(fragments) - 1 and fragment.endswith("."):
            tries += [t[:-1] for t in tries]  # a full stop closing a clause the document runs on from
        found = [(at, t) for t in tries if (at := document.find(t, position)) >= 0]
        if not found:
            return False
        at, matched = min(found)
        position = at + len(matched)
    return True


def _corrections(data: Mapping[str, Any], lowered_document: str) -> set[str]:
    """Corrected addresses the file declares, accepted only where the printed one is in the source."""
    accepted: set[str] = set()
    for item in (data.get("source") or {}).get("corrections", ()):
        if normalise(item["printed"]).casefold() in lowered_document:
            accepted.add(_bare_url(item["corrected"]))
    return accepted


def _bare_url(url: str) -> str:
    """An address without its scheme or trailing punctuation, case-folded, for comparison."""
    url = re.sub(r"^https?://", "", url.strip()).rstrip("/.,;:)")
    return url.casefold()


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, text) for every string in a nested mapping, as the loader names fields."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
