"""The people menus' search at regional scale: a million people in the directory, searched as a
person types (a few letters, a name and an agency, an email's start)."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from bot.people.search import find_people
from bot.storage import Storage

ROWS = 1_000_000
FIRST = ["Sam", "Priya", "Alex", "Jo", "Chris", "Kim", "Dee", "Eve", "Ravi", "Nora", "Ann", "Tom"]
LAST = ["Patel", "Nair", "Morgan", "Bennett", "Doyle", "Lee", "Okafor", "Stone", "Shah", "Finch"]
AGENCIES = 5_000
ROLES = ["Health Visitor", "Social Worker", "Designated Safeguarding Lead", "GP", "Team Manager"]
# What people type; the last is the worst case, every word common to a great many people.
TYPED = ["sa", "sam", "sam pat", "whitt", "health visitor whitt", "ann.lowe", "priya nair agency 42"]


def _fill(store: Storage) -> None:
    rng = random.Random(10)
    conn = store.db.conn
    with store.transaction():
        conn.executemany(
            "INSERT INTO people (id, name, agency, role, email, admin) VALUES (?, ?, ?, ?, ?, 0)",
            (
                (
                    f"p{i}",
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    f"Agency {i % AGENCIES}" if i % 50 else "Whittington Health",
                    rng.choice(ROLES),
                    f"person.{i}@agency{i % AGENCIES}.example",
                )
                for i in range(ROWS)
            ),
        )


def run(folder: Path) -> dict[str, float]:
    """Median and worst time of each typed search, in ms, over a million people."""
    store = Storage.open(f"sqlite:///{folder / 'people.db'}")
    _fill(store)
    worst, medians = 0.0, []
    for typed in TYPED:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            find_people(store, typed, limit=15)
            times.append((time.perf_counter() - started) * 1000)
        medians.append(statistics.median(times))
        worst = max(worst, max(times))
    store.close()
    return {
        "people search among 1,000,000, median of searches (ms)": statistics.median(medians),
        "people search among 1,000,000, worst (ms)": worst,
    }
