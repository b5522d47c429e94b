"""A report asked for in chat: who may have it, and reading "report [policy] [from] [to]"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.calendar import LONDON, WorkingCalendar
from bot.errors import InvalidInput, Refused
from bot.policy import PolicyLibrary
from bot.report.figures import Period, Report, ReportPeriodError, build_report
from bot.storage import Storage

USAGE = "report [policy] [from] [to], dates as YYYY-MM-DD, e.g. report camden 2026-01-01 2026-03-31"
REFUSAL = "Only the partnership's admins for a policy can have its learning report."


@dataclass(frozen=True)
class ReportRequest:
    policy_id: str
    period: Period


def parse_date(text: str, which: str) -> date:
    """A YYYY-MM-DD date; InvalidInput naming which end of the period it was."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput({which: f"{which}: {text.strip()[:20]!r} is not a date; use YYYY-MM-DD"}) from None


def period_of(first: date, last: date) -> Period:
    """The period, or InvalidInput when it ends before it starts."""
    try:
        return Period(first, last)
    except ReportPeriodError as exc:
        raise InvalidInput({"to": str(exc)}) from None


def last_month(today: date) -> Period:
    """The calendar month before `today`'s: the default when no dates are given."""
    last = today.replace(day=1) - timedelta(days=1)
    return Period(last.replace(day=1), last)


def parse_request(
    words: list[str], *, default_policy: str, policies: PolicyLibrary, now: datetime
) -> ReportRequest:
    """Read `[policy] [from] [to]`: without dates, last calendar month; with one, to today."""
    words = [w for w in words if w]
    policy_id = default_policy
    if words and not words[0][:1].isdigit():
        policy_id = words.pop(0).lower()
    if policy_id not in policies.policies:
        known = ", ".join(sorted(policies.policies))
        raise InvalidInput({"policy": f"There is no policy {policy_id[:40]!r}. The policies are: {known}."})
    if len(words) > 2:
        raise InvalidInput({"period": f"Too many words. Use: {USAGE}"})
    today = now.astimezone(LONDON).date()
    if not words:
        return ReportRequest(policy_id, last_month(today))
    first = parse_date(words[0], "from")
    last = parse_date(words[1], "to") if len(words) == 2 else today
    return ReportRequest(policy_id, period_of(first, last))


def report_for(
    store: Storage,
    policies: PolicyLibrary,
    actor: str,
    request: ReportRequest,
    *,
    now: datetime,
    calendar: WorkingCalendar,
) -> Report:
    """The report, for a partnership admin of its policy; Refused for anyone else."""
    person = store.person(actor)
    if person is None or not person.active or not person.is_admin_for(request.policy_id):
        raise Refused(REFUSAL)
    return build_report(store, policies.get(request.policy_id), request.period, now=now, calendar=calendar)
