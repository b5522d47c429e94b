"""`escalate report [policy] [from] [to]` in Teams: the learning report for a partnership admin, as
an HTML file offered with Teams' file consent card (as the case record is); Accept uploads it to
their OneDrive and shows it as a file."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from botbuilder.core import MessageFactory, TurnContext
from botbuilder.schema import Activity, Attachment

from adapters.report.chat import ReportFile, report_file, request_for
from adapters.teams import export
from bot.core import EscalationBot
from bot.errors import InvalidInput, Refused
from bot.people import Person
from bot.report import REFUSAL, ReportRequest, parse_date, period_of

log = logging.getLogger("escalation_bot.teams")
IN_1_TO_1 = "Ask me for the report in our 1:1 chat: I don't send files in a channel."
Say = Callable[[TurnContext, str], Awaitable[None]]
# Runs a database step in the storage thread: `await run(fn, *args)`.
Run = Callable[..., Awaitable[Any]]


async def offer_report(
    core: EscalationBot,
    run: Run,
    turn: TurnContext,
    person: Person | None,
    arg: str,
    *,
    default_policy: str,
    personal: bool,
    say: Say,
) -> None:
    """A partnership admin gets a consent card for the report's file; anyone else a refusal."""
    try:
        if person is None:
            raise Refused(REFUSAL)
        request = await run(request_for, core, person.id, arg.split(), default_policy)
        file = await run(report_file, core, person.id, request)
    except (Refused, InvalidInput) as exc:
        await say(turn, str(exc))
        return
    if not personal:
        await say(turn, IN_1_TO_1)
        return
    await turn.send_activity(Activity(type="message", attachments=[consent_attachment(request, file)]))


def consent_attachment(request: ReportRequest, file: ReportFile) -> Attachment:
    """Teams' file consent card for the report: Accept uploads it (made again) to OneDrive."""
    context = {
        "report": request.policy_id,
        "from": request.period.first.isoformat(),
        "to": request.period.last.isoformat(),
    }
    content = {
        "description": file.description,
        "sizeInBytes": len(file.html.encode("utf-8")),
        "acceptContext": context,
        "declineContext": context,
    }
    return Attachment(content_type=export.CONSENT, name=file.name, content=content)


def is_report_consent(context: dict[str, Any]) -> bool:
    return "report" in context


async def answer_report_consent(
    core: EscalationBot, run: Run, turn: TurnContext, person: Person | None, value: dict[str, Any], say: Say
) -> None:
    """Accept: the report (made again, and the admin checked again) goes to their OneDrive."""
    context = value["context"]
    try:
        if person is None:
            raise Refused(REFUSAL)
        period = period_of(
            parse_date(str(context.get("from")), "from"), parse_date(str(context.get("to")), "to")
        )
        request = ReportRequest(str(context.get("report"))[:60], period)
        file = await run(report_file, core, person.id, request)
    except (Refused, InvalidInput, KeyError) as exc:
        await say(turn, str(exc) if not isinstance(exc, KeyError) else REFUSAL)
        return
    info = value.get("uploadInfo") if isinstance(value.get("uploadInfo"), dict) else {}
    url = str(info.get("uploadUrl") or "")
    if value.get("action") == "accept" and export.may_upload_to(url):
        try:
            await export.upload(url, file.html.encode("utf-8"))
            await turn.send_activity(MessageFactory.attachment(export.file_info_attachment(info)))
            return
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("Teams: could not upload a report (%s)", type(exc).__name__)
            await say(turn, "The report could not be saved to your OneDrive. Please ask for it again.")
            return
    await say(turn, "Not sent. Ask again with 'escalate report' whenever you want it.")
