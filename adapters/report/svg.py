"""Small inline SVG bar charts: drawn here so the report needs no library, no script and no
network, and prints as crisply as text. Every bar carries its label and its number, so nothing
is said by colour alone."""

from __future__ import annotations

from html import escape

ROW = 22
LABEL_WIDTH = 300
BAR_WIDTH = 360
WIDTH = LABEL_WIDTH + BAR_WIDTH + 60


def bar_chart(title: str, items: list[tuple[str, int]], *, label_chars: int = 40) -> str:
    """A horizontal bar chart: one labelled row per item, the count written at the bar's end."""
    if not items:
        return ""
    top = max(value for _, value in items) or 1
    height = ROW * len(items) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{WIDTH}px" aria-labelledby="t">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(items):
        y = index * ROW + 4
        width = round(BAR_WIDTH * value / top)
        shown = label if len(label) <= label_chars else label[: label_chars - 1] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" class="l">{escape(shown)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{max(width, 1)}" height="{ROW - 6}" class="b"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}" class="v">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(title: str, items: list[tuple[str, int]]) -> str:
    """Vertical columns over time (e.g. per month), each with its count above and label below."""
    if not items:
        return ""
    top = max(value for _, value in items) or 1
    column, gap, chart_height = 44, 10, 140
    width = len(items) * (column + gap) + gap
    height = chart_height + 44
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{max(width, 320)}px">',
        f"<title>{escape(title)}</title>",
        f'<line x1="0" y1="{chart_height + 18}" x2="{width}" y2="{chart_height + 18}" class="axis"/>',
    ]
    for index, (label, value) in enumerate(items):
        x = gap + index * (column + gap)
        bar = round(chart_height * value / top)
        y = chart_height + 18 - bar
        parts.append(
            f'<rect x="{x}" y="{y}" width="{column}" height="{max(bar, 1)}" class="b"/>'
            f'<text x="{x + column / 2}" y="{y - 4}" text-anchor="middle" class="v">{value}</text>'
            f'<text x="{x + column / 2}" y="{chart_height + 34}" text-anchor="middle" class="l">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
