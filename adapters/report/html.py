"""The report as one self-contained HTML file: inline CSS and SVG, no script, nothing fetched."""

from __future__ import annotations

from html import escape

from adapters.report import sections as s
from adapters.report.svg import bar_chart, column_chart
from bot.report import Report

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#1a1a1a;margin:2rem auto;
max-width:64rem;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #333;
padding-bottom:.2rem}p.meta{margin:.2rem 0;color:#333}
.tiles{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
.tile{border:2px solid #333;border-radius:6px;padding:.5rem .8rem;min-width:8.5rem}
.tile b{display:block;font-size:1.7rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #999;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}
svg .b{fill:#3b5b92}svg .l,svg .v{font:12px system-ui,Arial,sans-serif;fill:#1a1a1a}
svg .axis{stroke:#333}.empty{border:2px dashed #666;padding:1rem;font-size:1.1rem}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}
table,svg,.tiles{break-inside:avoid}th{background:none}svg .b{fill:#555}a{color:inherit}}
"""


def render_html(report: Report) -> str:
    """The whole report as one HTML document; every piece of user text is escaped."""
    title = f"{report.partnership}: learning report, {s.period_text(report)}"
    body = [
        f"<h1>{escape(report.partnership)}</h1>",
        "<p class=meta><strong>Resolving professional differences: learning report</strong></p>",
        f"<p class=meta>Period: <strong>{escape(s.period_text(report))}</strong>. "
        f"{escape(s.made_text(report))}</p>",
        f"<p>{escape(s.scope_text(report))}</p>",
    ]
    if report.empty:
        body.append(
            "<p class=empty>No professional differences were raised under this policy in this period, "
            "so there is nothing to report.</p>"
        )
    else:
        body += _tiles(report)
        for section in s.all_sections(report)[1:]:
            body.append(_section(section, _chart(report, section.key)))
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _tiles(report: Report) -> list[str]:
    rows = s.summary(report).rows
    tiles = "".join(f"<div class=tile><b>{escape(value)}</b>{escape(label)}</div>" for label, value in rows)
    return ["<h2>Summary</h2>", f"<div class=tiles>{tiles}</div>"]


def _chart(report: Report, key: str) -> str:
    if key == "stages":
        return bar_chart(
            "Resolved at each stage",
            [(f"{n}. {report.stage_titles[n]}", c) for n, c in report.resolved_at_stage().items()],
        )
    if key == "categories":
        return bar_chart("Raised by category", report.by_category())
    if key == "agencies":
        pairs = report.by_agencies()[:10]
        return bar_chart("Raised by pair of agencies (top 10)", [(f"{a} → {b}", n) for (a, b), n in pairs])
    if key == "themes":
        per_month = {m: 0 for m in report.months}
        for d in report.differences:
            per_month[d.month] += 1
        return column_chart("Raised per month", [(s.month_name(m)[:3], n) for m, n in per_month.items()])
    return ""


def _section(section: s.Section, chart: str) -> str:
    parts = [f'<section id="{section.key}"><h2>{escape(section.title)}</h2>']
    if section.intro:
        parts.append(f"<p>{escape(section.intro)}</p>")
    if chart:
        parts.append(f"<figure>{chart}</figure>")
    if section.rows:
        head = "".join(f"<th scope=col>{escape(h)}</th>" for h in section.headers)
        rows = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in section.rows)
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    elif section.empty:
        parts.append(f"<p>{escape(section.empty)}</p>")
    parts.append("</section>")
    return "".join(parts)


def _cell(text: str) -> str:
    numeric = text.replace(".", "", 1).isdigit()
    return f"<td class=n>{escape(text)}</td>" if numeric else f"<td>{escape(text)}</td>"
