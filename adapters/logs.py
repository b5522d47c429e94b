"""Logging for `serve`: what the bot is doing, never what anyone typed.

Our own loggers (`escalation_bot.*`) never put a concern, a note or a secret in a message. The
platforms' SDKs do (slack-bolt logs the whole body of a request whose signature fails; aiohttp
and botbuilder log exceptions whose messages can quote a payload), so their records are reduced
to where they came from and how serious they are, and no exception's message is written, only
its type and where it was raised.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import TextIO

OURS = "escalation_bot"
# The SDKs' own chatter (request bodies at INFO and DEBUG) is not wanted even redacted.
QUIET = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "msal", "aiohttp", "urllib3")


class Redacting(logging.Formatter):
    """Formats a record without anything a person may have typed."""

    def format(self, record: logging.LogRecord) -> str:
        if not record.name.startswith(OURS):
            record = logging.makeLogRecord(record.__dict__)
            record.msg = f"{record.levelname.lower()} from {record.name} (details withheld)"
            record.args = None
        return super().format(record)

    def formatException(self, ei) -> str:
        kind, _, tb = ei
        where = "".join(traceback.format_tb(tb)) if tb else ""
        return f"{where}{kind.__name__ if kind else 'Exception'} (its message is withheld)"


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """One handler on the root logger, redacting; the SDKs' loggers at WARNING. Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
