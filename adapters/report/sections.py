"""The report's tables as plain rows, shared by the HTML, Markdown and summary CSV renderings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.calendar import LONDON
from bot.report import HOURS, Report
from bot.wording import when

STATUS_WORDS = {
    "open": "still open",
    "resolved": "resolved",
    "closed": "closed by the partnership",
    "withdrawn": "withdrawn",
}


@dataclass(frozen=True)
class Section:
    """One titled table: what it shows, its column headings and its rows (text cells)."""

    key: str
    title: str
    intro: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "None."


def day(d: date) -> str:
    """'1 January 2026'."""
    return f"{d.day} {d:%B %Y}"


def month_name(month: str) -> str:
    """'2026-03' as 'Mar 2026'."""
    year, number = month.split("-")
    return f"{date(int(year), int(number), 1):%b %Y}"


def period_text(report: Report) -> str:
    return f"{day(report.period.first)} to {day(report.period.last)}"


def made_text(report: Report) -> str:
    as_at = report.as_at.astimezone(LONDON)
    return f"Made {when(report.made_at)}; figures as they stood at {when(as_at)}."


def scope_text(report: Report) -> str:
    """What the report counts, and what it leaves out, in one paragraph."""
    refs = (
        "Differences are identified by escalation id and the agency's case reference; no child is named."
        if report.with_case_references
        else "Differences are identified by escalation id only: case references are left out."
    )
    return (
        f"The professional differences raised under the {report.partnership} escalation policy "
        f"from {period_text(report)}, each as it stood at the end of the period (or when the report "
        f"was made, for a period not yet over). Working days are Monday to Friday except England bank "
        f"holidays, ending at 5pm, as the policy counts them. {refs}"
    )


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def _unit(unit: str, value: float | None) -> str:
    if value is None:
        return "-"
    word = "hour" if unit == HOURS else "working day"
    return f"{_number(value)} {word}{'' if value == 1 else 's'}"


def summary(report: Report) -> Section:
    rows = [
        ("Raised", str(report.raised)),
        ("Resolved (including closed by the partnership)", str(report.resolved)),
        ("Withdrawn", str(report.withdrawn)),
        ("Still open", str(report.still_open)),
        ("Ran overdue at some stage", str(len(report.overdue))),
        ("Reached the level the partnership collates", str(len(report.collated))),
    ]
    return Section("summary", "Summary", "", ("Figure", "Count"), tuple(rows))


def resolved_at_stage(report: Report) -> Section:
    reached = report.reached_stage()
    rows = [
        (f"{n}. {title}", str(reached[n]), str(report.resolved_at_stage()[n]))
        for n, title in report.stage_titles.items()
    ]
    return Section(
        "stages",
        "Where differences were resolved",
        "How many reached each stage, and how many were resolved there.",
        ("Stage", "Reached", "Resolved there"),
        tuple(rows),
    )


def stage_times(report: Report) -> Section:
    rows = [
        (
            f"{s.number}. {s.title}",
            "urgent (hours)" if s.unit == HOURS else "standard",
            s.timescale,
            str(s.runs),
            _unit(s.unit, s.median),
            _unit(s.unit, s.worst),
            str(s.over_time),
        )
        for s in report.stage_times
    ]
    return Section(
        "times",
        "Time spent at each stage, against the policy's timescale",
        "Median of the stages that finished; worst of all, counting a stage still running for as long "
        "as it has run. A stage of 0 working days finished the same working day it started. "
        "'Over time' counts stages that ran past their due time (the policy's, or one brought forward "
        "or locally agreed).",
        ("Stage", "Timescale kind", "Policy timescale", "Stages", "Median", "Worst", "Over time"),
        tuple(rows),
    )


def overdue(report: Report) -> Section:
    late = sorted(report.overdue, key=lambda d: -d.overdue_working_days)
    rows = [
        (
            d.id,
            *_ref(report, d),
            f"{d.stage}",
            STATUS_WORDS.get(d.status, d.status),
            _unit("", d.overdue_working_days),
        )
        for d in late
    ]
    intro = (
        f"{len(late)} of {report.raised} ran past a stage's due time; longest overdue first. "
        f"Median {_unit('', report.overdue_median())}, worst {_unit('', report.overdue_worst())} "
        "(working days past the due time, the longest of each difference's stages)."
        if late
        else "None ran past a stage's due time."
    )
    return Section(
        "overdue",
        "Overdue",
        intro,
        ("Escalation", *_ref_header(report), "Stage reached", "Status", "Overdue by"),
        tuple(rows),
        empty="",
    )


def by_category(report: Report) -> Section:
    return Section(
        "categories",
        "By category",
        "What the differences were about, as the raiser chose from the policy's categories.",
        ("Category", "Raised"),
        tuple((c, str(n)) for c, n in report.by_category()),
    )


def by_agencies(report: Report) -> Section:
    return Section(
        "agencies",
        "By pair of agencies",
        "The agency that raised the difference, and the agency it was raised with.",
        ("Raised by", "Raised with", "Count"),
        tuple((a, b, str(n)) for (a, b), n in report.by_agencies()),
    )


def by_urgency(report: Report) -> Section:
    return Section(
        "urgency",
        "By urgency",
        "Urgent: the child may be at increased risk, on the policy's urgent timescales where it has them.",
        ("Kind", "Count"),
        tuple((k, str(n)) for k, n in report.by_urgency().items()),
    )


def collated(report: Report) -> Section:
    stages = ", ".join(f"{n}. {report.stage_titles[n]}" for n in report.collated_stages) or "none"
    rows = [
        (
            d.id,
            *_ref(report, d),
            str(d.stage),
            d.category,
            f"{d.raising_agency} / {d.other_agency}",
            STATUS_WORDS.get(d.status, d.status),
        )
        for d in report.collated
    ]
    return Section(
        "collated",
        "Differences the partnership collates",
        f"Those that reached a stage the partnership collates and monitors ({stages}): a partnership "
        "stage, or Level 4 or above on the policy's seniority ladder.",
        ("Escalation", *_ref_header(report), "Stage reached", "Category", "Agencies", "Status"),
        tuple(rows),
    )


def themes(report: Report) -> Section:
    table = report.categories_by_month()
    rows = [(category, *(str(counts[m]) for m in report.months)) for category, counts in table.items()]
    return Section(
        "themes",
        "Themes: categories by month raised",
        "",
        ("Category", *(month_name(m) for m in report.months)),
        tuple(rows),
    )


def actions(report: Report) -> Section:
    rows = [
        (month_name(month), d.id, *_ref(report, d), d.category, action)
        for month, items in report.actions_by_month().items()
        for d, action in items
    ]
    return Section(
        "actions",
        "Themes: agreed actions by month resolved",
        "The actions the resolutions agreed, as the practitioners recorded them.",
        ("Month", "Escalation", *_ref_header(report), "Category", "Agreed action"),
        tuple(rows),
    )


def differences(report: Report) -> Section:
    rows = [
        (
            d.id,
            *_ref(report, d),
            _short_day(d.opened_at),
            d.category,
            "urgent" if d.urgent else "standard",
            f"{d.raising_agency} / {d.other_agency}",
            str(d.stage),
            STATUS_WORDS.get(d.status, d.status),
            _unit("", d.overdue_working_days) if d.overdue else "-",
        )
        for d in report.differences
    ]
    return Section(
        "differences",
        "Every difference",
        "",
        (
            "Escalation",
            *_ref_header(report),
            "Raised",
            "Category",
            "Urgency",
            "Agencies",
            "Stage",
            "Status",
            "Overdue",
        ),
        tuple(rows),
    )


def all_sections(report: Report) -> list[Section]:
    """Every table, in the order the report shows them."""
    return [
        summary(report),
        resolved_at_stage(report),
        stage_times(report),
        overdue(report),
        by_category(report),
        by_agencies(report),
        by_urgency(report),
        collated(report),
        themes(report),
        actions(report),
        differences(report),
    ]


def _ref(report: Report, d) -> tuple[str, ...]:
    return (d.case_reference or "",) if report.with_case_references else ()


def _ref_header(report: Report) -> tuple[str, ...]:
    return ("Case reference",) if report.with_case_references else ()


def _short_day(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%b %Y}"
