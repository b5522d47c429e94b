"""Errors the core gives back to the person who acted: plain English, never a traceback."""

from __future__ import annotations


class Refused(Exception):
    """The person may not see or act on this; the message tells them so politely."""


class InvalidInput(Exception):
    """Bad input, by field, so a form can show each message beside the field it concerns."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))
