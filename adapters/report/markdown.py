"""The report as Markdown: the same tables, for pasting into papers and minutes."""

from __future__ import annotations

from adapters.report import sections as s
from bot.report import Report


def render_markdown(report: Report) -> str:
    """The whole report as Markdown; table cells have their pipes and line breaks made safe."""
    lines = [
        f"# {report.partnership}",
        "",
        f"**Resolving professional differences: learning report, {s.period_text(report)}**",
        "",
        s.made_text(report),
        "",
        s.scope_text(report),
        "",
    ]
    if report.empty:
        lines += [
            "No professional differences were raised under this policy in this period, so there is "
            "nothing to report.",
            "",
        ]
        return "\n".join(lines)
    for section in s.all_sections(report):
        lines += [f"## {section.title}", ""]
        if section.intro:
            lines += [section.intro, ""]
        if section.rows:
            lines.append("| " + " | ".join(_cell(h) for h in section.headers) + " |")
            lines.append("|" + "|".join("---" for _ in section.headers) + "|")
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.rows]
            lines.append("")
        elif section.empty:
            lines += [section.empty, ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")
