"""Test data shared by every test module: the small directory, London times, the repo root."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.calendar import LONDON
from bot.people import Person

REPO = Path(__file__).resolve().parent.parent

# A small directory: two agencies with line management, a school DSL with no manager on record,
# and a partnership admin.
PEOPLE = (
    Person("alex", "Alex Morgan", "Camden Children's Services", "Social Worker", manager_id="jo"),
    Person("jo", "Jo Bennett", "Camden Children's Services", "Team Manager", manager_id="ravi"),
    Person("ravi", "Ravi Shah", "Camden Children's Services", "Service Manager"),
    Person("sam", "Sam Patel", "Whittington Health", "Health Visitor", manager_id="priya"),
    Person("priya", "Priya Nair", "Whittington Health", "Health Visiting Team Lead"),
    Person("chris", "Chris Doyle", "Hillside Primary School", "Designated Safeguarding Lead"),
    Person("kim", "Kim Lee", "Hillside Primary School", "Headteacher"),
    Person("dee", "Dee Okafor", "Partnership", "Partnership Business Manager", admin=True),
    Person("eve", "Eve Stone", "Camden Children's Services", "Social Worker", manager_id="jo"),
)


def london(*args: int) -> datetime:
    """An aware Europe/London datetime: london(2026, 12, 1, 10)."""
    return datetime(*args, tzinfo=LONDON)
