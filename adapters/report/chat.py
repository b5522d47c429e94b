"""The learning report asked for in chat (`report [policy] [from] [to]`), for Slack and Teams alike."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from adapters.report.html import render_html
from adapters.report.sections import period_text
from bot.core import EscalationBot
from bot.errors import Refused
from bot.messages import Message
from bot.report import REFUSAL, Period, ReportRequest, parse_request, report_for


@dataclass(frozen=True)
class ReportFile:
    name: str
    html: str
    description: str  # one line: which policy, which period, how many differences


def request_for(bot: EscalationBot, actor: str, words: list[str], default_policy: str) -> ReportRequest:
    """Read what a partnership admin asked for; Refused for anyone else, before reading a word."""
    person = bot.store.person(actor)
    if person is None or not person.active or not person.admin:
        raise Refused(REFUSAL)
    # An admin named for one policy means that one when they name none.
    default = person.admin_policies[0] if len(person.admin_policies) == 1 else default_policy
    return parse_request(words, default_policy=default, policies=bot.policies, now=bot.clock.now())


def report_file(bot: EscalationBot, actor: str, request: ReportRequest) -> ReportFile:
    """The HTML report as a file; Refused unless `actor` is an admin for the policy asked for."""
    report = report_for(bot.store, bot.policies, actor, request, now=bot.clock.now(), calendar=bot.calendar)
    period = request.period
    name = f"{request.policy_id} learning report {period.first.isoformat()} to {period.last.isoformat()}.html"
    plural = "difference" if report.raised == 1 else "differences"
    description = (
        f"The {bot.policies.get(request.policy_id).short_name} learning report, {period_text(report)}: "
        f"{report.raised} {plural} raised. It opens in any browser and prints."
    )
    return ReportFile(name, render_html(report), description)


def attach_report(bot: EscalationBot, message: Message) -> Message:
    """A monthly report's message with the report itself as its file, made now for its recipient
    (refused, and so never sent, if they are no longer an admin of its policy)."""
    spec = message.data["report"]
    file = report_file(bot, message.to, requested(spec))
    return replace(message, text=file.html, data={**message.data, "file": file.name, "comment": message.text})


def requested(spec: dict) -> ReportRequest:
    """The report a message's `report` data names: a policy and a period."""
    return ReportRequest(
        str(spec["policy"]), Period(date.fromisoformat(spec["from"]), date.fromisoformat(spec["to"]))
    )
