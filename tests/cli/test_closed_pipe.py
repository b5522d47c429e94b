"""`escalation-bot … | head`: when whoever reads the output stops early, the command stops quietly,
with no traceback. Each runs as a real process writing into a real pipe whose reading end is
already closed, so every write fails as it would once `head` has had its lines."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from adapters.cli import main
from support import REPO

DIRECTORY = REPO / "examples" / "directory.csv"


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    """A database with the example directory in it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('pipe') / 'bot.db'}"
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        assert main(["directory", "import", str(DIRECTORY)]) == 0
    finally:
        if old is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = old
    return url


def run_into_closed_pipe(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first line is written
    try:
        return subprocess.run(
            [sys.executable, "-m", "adapters.cli", *args],
            cwd=REPO,
            env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database},
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ("policies", "show", "camden"),
        ("policies", "list"),
        ("list",),
        ("list", "--json"),
        ("timeline", "--policy", "enfield", "--start", "2026-12-23T10:00", "--json"),
        ("directory", "list"),
    ],
    ids=" ".join,
)
def test_a_command_whose_reader_stops_early_ends_without_a_traceback(database, args):
    result = run_into_closed_pipe(database, *args)
    assert result.stderr == ""
    assert result.returncode == 141  # as a shell shows a Unix tool stopped by SIGPIPE


def test_a_reader_that_takes_every_line_sees_them_all(database):
    result = subprocess.run(
        f"{sys.executable} -m adapters.cli policies show camden | head -n 3",
        shell=True,
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == "" and len(result.stdout.splitlines()) == 3
