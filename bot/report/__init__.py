"""The partnership's learning report: figures for one policy over a period, computed from storage.

`build_report(store, policy, Period(first, last), now=…, calendar=…)` gives a `Report`; adapters
render it (HTML, CSV, Markdown). Nothing here names a child: case references only, or none.
"""

from bot.report.figures import (
    COLLATE_FROM_LEVEL,
    Difference,
    Period,
    Report,
    ReportPeriodError,
    StageTimes,
    build_report,
)
from bot.report.measure import HOURS, WORKING_DAYS
from bot.report.request import (
    REFUSAL,
    USAGE,
    ReportRequest,
    last_month,
    parse_date,
    parse_request,
    period_of,
    report_for,
)

__all__ = [
    "COLLATE_FROM_LEVEL",
    "HOURS",
    "REFUSAL",
    "USAGE",
    "WORKING_DAYS",
    "Difference",
    "Period",
    "Report",
    "ReportPeriodError",
    "ReportRequest",
    "StageTimes",
    "build_report",
    "last_month",
    "parse_date",
    "parse_request",
    "period_of",
    "report_for",
]
