"""The partnership's learning report rendered: one self-contained HTML file, CSV, or Markdown."""

from __future__ import annotations

from collections.abc import Callable

from adapters.report.html import render_html
from adapters.report.markdown import render_markdown
from adapters.report.tables import render_csv, render_summary_csv
from bot.report import Report

RENDERERS: dict[str, Callable[[Report], str]] = {
    "html": render_html,
    "csv": render_csv,
    "summary-csv": render_summary_csv,
    "md": render_markdown,
}
EXTENSIONS = {"html": "html", "csv": "csv", "summary-csv": "csv", "md": "md"}

__all__ = ["EXTENSIONS", "RENDERERS", "render_csv", "render_html", "render_markdown", "render_summary_csv"]
