"""The report as CSV: one row per difference (`csv`), or the summary tables as rows (`summary-csv`)."""

from __future__ import annotations

import csv
import io

from adapters.report import sections as s
from bot.calendar import LONDON
from bot.report import Report

COLUMNS = (
    "id",
    "case_reference",
    "opened_at",
    "month",
    "category",
    "urgent",
    "immediate_risk",
    "raising_agency",
    "other_agency",
    "status",
    "stage_reached",
    "ended_at",
    "ended_at_stage",
    "overdue_working_days",
    "collated",
    "agreed_actions",
)


def render_csv(report: Report) -> str:
    """One row per difference, with the report's fields; no case_reference column when left out.
    Cells that a spreadsheet would run as a formula are prefixed with a quote."""
    columns = [c for c in COLUMNS if report.with_case_references or c != "case_reference"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for d in report.differences:
        row = {
            "id": d.id,
            "case_reference": d.case_reference or "",
            "opened_at": d.opened_at.astimezone(LONDON).isoformat(timespec="minutes"),
            "month": d.month,
            "category": d.category,
            "urgent": "yes" if d.urgent else "no",
            "immediate_risk": "yes" if d.immediate_risk else "no",
            "raising_agency": d.raising_agency,
            "other_agency": d.other_agency,
            "status": d.status,
            "stage_reached": d.stage,
            "ended_at": d.ended_at.astimezone(LONDON).isoformat(timespec="minutes") if d.ended_at else "",
            "ended_at_stage": d.ended_at_stage or "",
            "overdue_working_days": d.overdue_working_days,
            "collated": "yes" if d.collated else "no",
            "agreed_actions": "; ".join(d.agreed_actions),
        }
        writer.writerow([_safe(row[c]) for c in columns])
    return out.getvalue()


def render_summary_csv(report: Report) -> str:
    """Every summary table as rows of (section, then that table's cells), headings included."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "partnership", report.partnership, "period", s.period_text(report)])
    for section in s.all_sections(report)[:-1]:
        writer.writerow([section.key, *section.headers])
        for row in section.rows:
            writer.writerow([section.key, *(_safe(c) for c in row)])
    return out.getvalue()


def _safe(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
