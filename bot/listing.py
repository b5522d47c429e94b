"""Lists of escalations as the people who watch them need them: overdue first, saying by how long,
filtered, capped with how many more, and within what each person may see.

A participant sees what they are on; a partnership admin every escalation of their policies; an
agency's named or designated safeguarding lead, read-only, every escalation involving their agency
on either side (Enfield collates escalations "to ensure that the dispute is resolved at the
earliest possible opportunity, and … identify any emerging trends").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.calendar import LONDON, WorkingCalendar
from bot.people import Person, Role
from bot.storage import EscalationRow
from bot.wording import Page, when

# The roles that give an agency's read-only view: the directory's safeguarding leads.
LEAD_ROLES = (Role.NAMED_LEAD, Role.DESIGNATED_PROFESSIONAL)
STATUSES = ("open", "resolved", "withdrawn", "closed")


@dataclass(frozen=True)
class ListFilter:
    """What to list: only overdue, one policy, one agency (either side), one status, opened since."""

    overdue: bool = False
    policy: str | None = None
    agency: str | None = None
    status: str | None = None
    since: date | None = None


EVERY = ListFilter()


@dataclass(frozen=True)
class Scope:
    """Whose escalations: those `person_id` is on, all of `admin_policies` (empty: every policy)
    when `admin`, and those involving `lead_agencies`; or `everything` (the admin's CLI)."""

    person_id: str | None = None
    admin: bool = False
    admin_policies: tuple[str, ...] = ()
    lead_agencies: tuple[str, ...] = ()
    everything: bool = False


@dataclass(frozen=True)
class Listing:
    """One page of a list, with the total it was cut from."""

    rows: list[EscalationRow]
    total: int
    now: datetime
    offset: int = 0

    @property
    def more(self) -> int:
        """How many matching escalations are not on this page or before it."""
        return max(self.total - self.offset - len(self.rows), 0)


def scope_of(person: Person, lead_agencies: tuple[str, ...]) -> Scope:
    """What `person` may list: their own, their policies' if an admin, their agencies' if a lead."""
    return Scope(
        person_id=person.id,
        admin=person.admin,
        admin_policies=person.admin_policies,
        lead_agencies=lead_agencies,
    )


def overdue_working_days(due: datetime, now: datetime, calendar: WorkingCalendar) -> int:
    """Working days that have ended since `due`: 0 on the day it fell due."""
    day, today = due.astimezone(LONDON).date(), now.astimezone(LONDON).date()
    count = 0
    while day < today:
        day += timedelta(days=1)
        if calendar.is_working_day(day) and (day < today or now >= calendar.end_of_day(day)):
            count += 1
    return count


def overdue_by(row: EscalationRow, now: datetime, calendar: WorkingCalendar) -> str | None:
    """ "overdue 4 working days" (or hours, on the day), or None if it is not overdue."""
    if row.status != "open" or row.due is None or row.due >= now:
        return None
    return overdue_words(overdue_working_days(row.due, now, calendar))


def overdue_words(days: int) -> str:
    """ "overdue 4 working days" for an overdue stage, from the working days ended since it fell due."""
    if days:
        return f"overdue {days} working day{'s' if days != 1 else ''}"
    # Hours would mislead across a weekend (5pm Friday to Monday is 64 hours, no working day).
    return "overdue less than a working day"


def list_line(row: EscalationRow, now: datetime, calendar: WorkingCalendar, *, viewer: str | None) -> str:
    """One escalation on one line, overdue ones saying by how long; a lead's read-only rows say so."""
    late = overdue_by(row, now, calendar)
    where = f"case {row.case_reference} · {row.policy_id} · stage {row.stage}"
    if late:
        # How late first: on a phone the list is scanned down its left edge.
        line = f"{row.id} · {late} · {where} · was due {when(row.due)}"
    else:
        state = (f"due {when(row.due)}" if row.due else "no due time") if row.status == "open" else row.status
        line = f"{row.id} · {where} · {state}"
    if viewer is not None and viewer not in row.participants:
        line += " · read only"
    return line


def more_line(listing: Listing, how: str) -> str | None:
    """ "…and 12 more: {how}" when the list was capped."""
    return f"…and {listing.more} more: {how}" if listing.more else None


Fetch = Callable[[ListFilter, int, int], Listing]


def chat_request(text: str) -> tuple[ListFilter, int]:
    """`list [overdue] [page]` as typed in chat: the filter and the page number (from 1)."""
    words = text.lower().split()
    page = next((int(w) for w in words if w.isascii() and w.isdigit() and int(w) > 0), 1)
    return ListFilter(overdue="overdue" in words), page


def chat_list(
    fetch: Fetch,
    text: str,
    *,
    size: int,
    calendar: WorkingCalendar,
    viewer: str,
    command: str,
    code: str = "",
) -> str:
    """The answer to `list` in chat: overdue first, one page, how many more and how to see them."""
    filters, page = chat_request(text)
    shown = fetch(filters, size, (page - 1) * size)
    pages = max(1, -(-shown.total // size))
    if page > pages:
        page = pages
        shown = fetch(filters, size, (page - 1) * size)
    if not shown.total:
        return "Nothing overdue that you can see." if filters.overdue else "You are not on any escalations."
    late = sum(1 for r in shown.rows if overdue_by(r, shown.now, calendar))
    lines = [list_line(r, shown.now, calendar, viewer=viewer) for r in shown.rows]
    word = " overdue" if filters.overdue else ""
    again = f"{code}{command}{word} {{page}}{code}"  # `code`: how the platform marks a command
    footer = Page(shown.rows, page, pages, shown.offset + 1, shown.total).footer(again)
    if footer:
        lines.append(footer)
    elif 0 < late < len(shown.rows) and not filters.overdue:
        lines.append(f"Only the overdue ones: {code}{command} overdue{code}")
    return "\n".join(lines)
