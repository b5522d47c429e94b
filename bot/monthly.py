"""The partnership admins' monthly learning report, sent without asking: at 9am on the first
working day of each month (office hours), last month's report for each of their policies that had
differences raised. The core says what and to whom; the adapters attach the report's file.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.calendar import LONDON, WorkingCalendar
from bot.messages import Message, MessageKind
from bot.policy import PolicyLibrary
from bot.reminders import DIGEST_AT, Planned
from bot.report import last_month
from bot.storage import Storage
from bot.subscriptions import MONTHLY, receives

REPORT = "report_monthly"
NO_ESCALATION = ""


def next_time(after: datetime, calendar: WorkingCalendar) -> datetime:
    """9am on the first working day of a month, strictly after `after`."""
    first = after.astimezone(LONDON).date().replace(day=1)
    for _ in range(3):
        day = first if calendar.is_working_day(first) else calendar.next_working_day(first)
        at = datetime.combine(day, DIGEST_AT, tzinfo=LONDON)
        if at > after:
            return at
        first = (first + timedelta(days=32)).replace(day=1)
    raise AssertionError("a month always has a working day")


def plan_missing(store: Storage, now: datetime, calendar: WorkingCalendar) -> None:
    """Make sure next month's report is planned, where there are admins to send it to."""
    if not store.has_pending(REPORT) and store.admins():
        store.add_reminders(NO_ESCALATION, [_plan(now, calendar)])


def _plan(now: datetime, calendar: WorkingCalendar) -> Planned:
    return (0, REPORT, next_time(now, calendar), {})


def report_messages(
    store: Storage, policies: PolicyLibrary, now: datetime, calendar: WorkingCalendar
) -> tuple[list[Message], Planned]:
    """Each admin's reports for last month (one per policy of theirs with differences raised), and
    the next month's to plan. A month with none raised sends nothing."""
    period = last_month(now.astimezone(LONDON).date())
    raised = store.raised_counts(period.starts, period.ends)
    messages = []
    for admin in store.admins():
        if not receives(store, admin, MONTHLY):
            continue
        for policy_id in sorted(p for p in raised if admin.is_admin_for(p) and p in policies.policies):
            policy = policies.get(policy_id)
            count = raised[policy_id]
            plural = "difference was" if count == 1 else "differences were"
            text = (
                f"Your monthly learning report: {policy.name}, {_month(period.first)}\n"
                f"{count} professional {plural} raised under the {policy.short_name} policy last month. "
                "The report is attached: what was resolved and at which stage, time at each stage "
                "against the policy, what ran overdue, and the themes. It opens in any browser, prints, "
                "and names no child.\n"
                "To stop these monthly reports: /escalate monthly off."
            )
            data = {
                "report": {
                    "policy": policy_id,
                    "from": period.first.isoformat(),
                    "to": period.last.isoformat(),
                }
            }
            messages.append(Message(to=admin.id, text=text, kind=MessageKind.REMINDER, data=data))
    return messages, _plan(now, calendar)


def _month(first: date) -> str:
    return f"{first:%B %Y}"
