"""The partnership admins' digests, in place of a message per escalation per day.

At 9am each working day an admin is told what newly went overdue in their policies since the
last digest (nothing is sent when nothing did); on the first working day of each week, at 9am,
everything still overdue. Digests are rows in the reminders table like any other, so they are
sent once, survive restarts, and wake the background loop.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.calendar import LONDON, WorkingCalendar
from bot.listing import LEAD_ROLES
from bot.messages import Message, MessageKind
from bot.people import Person
from bot.reminders import DIGEST_AT, Planned
from bot.storage import EscalationRow, Storage
from bot.subscriptions import DIGESTS, ON, receives
from bot.wording import when

DAILY = "digest_daily"
WEEKLY = "digest_weekly"
KINDS = (DAILY, WEEKLY)
LISTED = 30  # escalations listed by name in one digest; the rest are counted
NO_ESCALATION = ""  # digests belong to no escalation


def next_time(kind: str, after: datetime, calendar: WorkingCalendar) -> datetime:
    """The next digest of this kind strictly after `after`: 9am on a working day (for the weekly,
    the first working day of a week)."""
    day = after.astimezone(LONDON).date()
    while True:
        at = datetime.combine(day, DIGEST_AT, tzinfo=LONDON)
        if (
            at > after
            and calendar.is_working_day(day)
            and (kind == DAILY or _first_working_day(day, calendar))
        ):
            return at
        day += timedelta(days=1)


def _first_working_day(day: date, calendar: WorkingCalendar) -> bool:
    monday = day - timedelta(days=day.weekday())
    return all(not calendar.is_working_day(monday + timedelta(days=n)) for n in range(day.weekday()))


def plan_missing(store: Storage, now: datetime, calendar: WorkingCalendar) -> None:
    """Make sure the next daily and weekly digests are planned, where there are admins to tell."""
    # Runs at every wake of the loop: two indexed look-ups, and the directory only when one is due.
    missing = [kind for kind in KINDS if not store.has_pending(kind)]
    if not missing or not (store.admins() or store.people_with_setting(DIGESTS, ON)):
        return
    for kind in missing:
        store.add_reminders(NO_ESCALATION, [_plan(kind, now, calendar, first=True)])


def _plan(kind: str, now: datetime, calendar: WorkingCalendar, *, first: bool = False) -> Planned:
    # The first daily digest ever reports all that is overdue; each after it, what fell due since.
    return (0, kind, next_time(kind, now, calendar), {"since": None if first else now.isoformat()})


def digest_messages(
    store: Storage, kind: str, since: datetime | None, now: datetime, calendar: WorkingCalendar
) -> tuple[list[Message], Planned]:
    """Each admin's digest, and the next digest of this kind to plan."""
    newly = kind == DAILY
    due_after = since if newly else None
    counts = store.overdue_counts(due_after=due_after, due_until=now)
    messages: list[Message] = []
    for admin in store.admins():
        if not receives(store, admin, DIGESTS):
            continue
        policies = _policies_of(admin, counts)
        total = sum(counts[p] for p in policies)
        if not total:
            continue  # nothing to say: no message
        rows = store.overdue_rows(
            due_after=due_after,
            due_until=now,
            policy_ids=None if not admin.admin_policies else policies,
            limit=LISTED,
        )
        messages.append(
            Message(to=admin.id, text=_text(store, rows, total, newly, since), kind=MessageKind.REMINDER)
        )
    messages += _lead_digests(store, newly, due_after, since, now)
    return messages, _plan(kind, now, calendar)


def _lead_digests(
    store: Storage, newly: bool, due_after: datetime | None, since: datetime | None, now: datetime
) -> list[Message]:
    """The same digest for each safeguarding lead who asked for their agency's (admins have theirs)."""
    messages = []
    for person_id in store.people_with_setting(DIGESTS, ON):
        lead = store.person(person_id)
        if lead is None or lead.admin or not receives(store, lead, DIGESTS, lead=True):
            continue
        agencies = store.lead_agencies(lead.id, LEAD_ROLES)
        if not agencies:
            continue  # no longer a lead: nothing of an agency's to tell
        rows, total = store.overdue_in_agencies(agencies, due_after=due_after, due_until=now, limit=LISTED)
        if total:
            text = _text(store, rows, total, newly, since, where=f"involving {lead.agency}")
            messages.append(Message(to=lead.id, text=text, kind=MessageKind.REMINDER))
    return messages


def _policies_of(admin: Person, counts: dict[str, int]) -> list[str]:
    return [p for p in counts if admin.is_admin_for(p)]


def _text(
    store: Storage,
    rows: list[EscalationRow],
    total: int,
    newly: bool,
    since: datetime | None,
    *,
    where: str | None = None,
) -> str:
    plural = "difference" if total == 1 else "differences"
    scope = where or "in your policies"
    if newly and since is not None:
        lines = [
            f"Newly overdue: {total} professional {plural}{f' {where}' if where else ''} since {when(since)}"
        ]
    elif newly:
        lines = [f"Overdue: {total} professional {plural} {scope}"]
    else:
        lines = [f"Still overdue: {total} professional {plural} {scope}"]
    for row in rows:
        due = when(row.due) if row.due else "no due time"
        people = " and ".join(_who(store, p) for p in row.participants[:2])
        lines.append(f"• {row.id} · case {row.case_reference} · stage {row.stage} was due {due} · {people}")
    if total > len(rows):
        lines.append(f"…and {total - len(rows)} more: see /escalate list.")
    lines.append("Each is being chased with its own people; tap into a case with /escalate show.")
    lines.append("To stop these digests: /escalate digests off.")
    return "\n".join(lines)


def _who(store: Storage, person_id: str) -> str:
    person = store.person(person_id)
    return f"{person.name} ({person.agency})" if person else person_id
