"""Logging for `serve`: what the bot is doing, never what anyone typed.

Our own loggers (`escalation_bot.*`) never put a concern, a note or a secret in a message. The
platforms' SDKs do (slack-bolt logs the whole body of a request whose signature fails; aiohttp
and botbuilder log exceptions whose messages can quote a payload), so their records are reduced
to where they came from and how serious they are, and no exception's message is written, only
its type and where it was raised.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import TextIO

OURS = "escalation_bot"
# The SDKs' own chatter (request bodies at INFO and DEBUG) is not wanted even redacted.
QUIET = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "msal", "aiohttp", "urllib3")


class Redacting(logging.Formatter):
    """Formats a record without anything a person may have typed."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(_withheld(record))

    def formatException(self, ei) -> str:
        kind, _, tb = ei
        where = "".join(traceback.format_tb(tb)) if tb else ""
        return f"{where}{kind.__name__ if kind else 'Exception'} (its message is withheld)"


class JsonLines(Redacting):
    """One JSON object a line (LOG_FORMAT=json), for a log collector; redacted as the text is."""

    def format(self, record: logging.LogRecord) -> str:
        record = _withheld(record)
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _withheld(record: logging.LogRecord) -> logging.LogRecord:
    """The SDKs' records reduced to where they came from and how serious they are."""
    if record.name.startswith(OURS):
        return record
    record = logging.makeLogRecord(record.__dict__)
    record.msg = f"{record.levelname.lower()} from {record.name} (details withheld)"
    record.args = None
    return record


def configure_logging(
    stream: TextIO | None = None, level: int = logging.INFO, log_format: str = "text"
) -> logging.Handler:
    """One handler on the root logger, redacting; the SDKs' loggers at WARNING. Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    text = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(JsonLines() if log_format == "json" else Redacting(text))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
