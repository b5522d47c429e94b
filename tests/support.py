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


def raise_difference(bot, **overrides):
    """Alex (Camden Children's Services) raises a difference with Sam (Whittington Health) under
    the Camden policy, about thresholds; `overrides` changes any field."""
    from bot.commands import RaiseEscalation

    fields = dict(
        actor="alex",
        policy_id="camden",
        case_reference="CIN-20931",
        counterpart="sam",
        category="threshold",
        issue="Health visiting plans to close the case.",
        risk="Baby of 8 months; missed appointments.",
        outcome_wanted="Keep health visiting open until the review.",
    )
    fields.update(overrides)
    return bot.handle(RaiseEscalation(**fields))


def escalations(store):
    """Every escalation recorded, newest first: what a test looks at after a raise."""
    from datetime import UTC

    from bot.listing import EVERY, Scope

    # A time before any test's, so nothing counts as overdue and the order is simply newest first.
    before_all = datetime(2000, 1, 1, tzinfo=UTC)
    rows, _ = store.list_escalations(Scope(everything=True), EVERY, now=before_all, limit=10_000)
    return rows


async def eventually(check, timeout: float = 5.0) -> None:
    """Wait for the bot's work after an acknowledgement (or its background delivery) to settle
    into the state `check` expects."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def cli_process(env: dict[str, str], *args: str, stdout=None, stderr=None):
    """`python -m adapters.cli ARGS` from the checkout with `env` (a test's own `serve`, say);
    its output goes to `stdout`/`stderr` (asyncio.subprocess.PIPE, a file), else nowhere."""
    import asyncio
    import sys

    quiet = asyncio.subprocess.DEVNULL
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.cli", *args, env=env, cwd=REPO,
        stdout=quiet if stdout is None else stdout, stderr=quiet if stderr is None else stderr,
    )  # fmt: skip
