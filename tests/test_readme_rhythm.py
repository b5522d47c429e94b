"""The README's reminder table is the one the code keeps: a reader checking one checks both."""

from __future__ import annotations

import bot.reminders
from support import REPO


def table(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("| Reminder"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line.strip())
    return rows


def test_the_readme_shows_the_rhythm_table_the_code_follows():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert table(readme) == table(bot.reminders.__doc__ or "")
    assert len(table(readme)) >= 8
