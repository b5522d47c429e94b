"""The program as an IT admin installs it: a wheel built from the tree, installed into a fresh
virtual environment, and run from a folder that is not the source tree.

Offline by design: the wheel is built with this venv's own setuptools (no build isolation), and the
fresh venv gets the wheel's declared dependencies, and nothing else, as links into this venv's
site-packages, so a module the program needs but does not declare fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from support import REPO

PACKAGES = ("bot", "adapters", "policies")
POLICY_IDS = ("cambridgeshire-peterborough", "camden", "enfield", "kingston-richmond", "redbridge")
# What a checkout holds that is not source: a stale build/ would otherwise leak into the wheel.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db", "*.db-*"
)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    elsewhere: Path  # a working folder outside the source tree

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "escalation-bot"), *args],
            cwd=self.elsewhere,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def env(self, **extra: str) -> dict[str, str]:
        # Nothing from the test run: no PYTHONPATH, no settings but these.
        return {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(self.elsewhere),
            "DATABASE_URL": f"sqlite:///{self.elsewhere / 'escalations.db'}",
            **extra,
        }


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"pip {' '.join(args)}\n{done.stdout}\n{done.stderr}"


def _declared_dependencies() -> dict[str, metadata.Distribution]:
    """The installed distributions the project's runtime requirements reach, extras followed."""
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, str]] = set()
    pending = [(Requirement(r), "") for r in metadata.requires("escalation-bot") or ()]
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        dist = found.setdefault(name, metadata.distribution(requirement.name))
        for wanted in ("", *requirement.extras):
            if (name, wanted) not in seen:
                seen.add((name, wanted))
                pending.extend((Requirement(r), wanted) for r in dist.requires or ())
    return found


def _link_dependencies(site_packages: Path) -> None:
    """Make each declared dependency importable in the new venv, as if installed there."""
    for dist in _declared_dependencies().values():
        for top in {f.parts[0] for f in dist.files or () if f.parts[0] not in ("..", "__pycache__")}:
            target = site_packages / top
            if not target.exists():
                target.symlink_to(Path(str(dist.locate_file(top))))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE, symlinks=True)
    dist = root / "dist"
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(dist), str(source))
    shutil.rmtree(source)
    (wheel,) = dist.glob("escalation_bot-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    (site_packages,) = venv.glob("lib/python3*/site-packages")
    _link_dependencies(site_packages)
    # --no-deps: the links are this venv's own files, which pip must never replace; pip check
    # then proves the wheel's declared requirements are all met by them.
    _pip("--python", str(venv / "bin" / "python"), "install", "--no-index", "--no-deps", str(wheel))
    _pip("--python", str(venv / "bin" / "python"), "check")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    yield Installed(wheel=wheel, venv=venv, elsewhere=elsewhere)


def test_the_wheel_holds_every_package_and_data_file_of_the_tree(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    tree = {
        path.relative_to(REPO).as_posix()
        for package in PACKAGES
        for path in (REPO / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert sorted(tree - names) == []
    assert "adapters/examples/directory.csv" in names
    assert {"policies/schema.json", "policies/camden.yaml", "policies/sources/camden.txt"} <= names


def test_the_installed_program_runs_from_the_venv_not_the_source_tree(installed):
    where = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import json, adapters.slack, adapters.teams, bot, policies;"
            "print(json.dumps([m.__file__ for m in (adapters.slack, adapters.teams, bot, policies)]))",
        ],
        cwd=installed.elsewhere,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for file in json.loads(where.stdout):
        assert Path(file).is_relative_to(installed.venv), file


def test_the_installed_demo_plays_its_walkthrough(installed):
    done = installed.run("demo", "--auto")
    assert done.returncode == 0, done.stderr
    # The example directory's people, from the package data.
    assert "You raised E-0001 with Sam Patel" in done.stdout
    assert "End of demo." in done.stdout


def test_the_installed_policies_list_shows_every_bundled_policy(installed):
    done = installed.run("policies", "list")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == list(POLICY_IDS)
    shown = installed.run("policies", "show", "camden")
    assert shown.returncode == 0, shown.stderr
    assert "Camden Safeguarding Children Partnership" in shown.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def test_the_installed_server_answers_its_health_check(installed):
    port = _free_port()
    server = subprocess.Popen(
        [str(installed.venv / "bin" / "escalation-bot"), "serve"],
        cwd=installed.elsewhere,
        env=installed.env(PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(200):
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.communicate()[0]
                time.sleep(0.1)
        else:
            raise AssertionError("the installed server did not start")
    finally:
        server.terminate()
        logs, _ = server.communicate(timeout=30)
    assert (status, body["ok"]) == (200, True), logs
    # It created its database where DATABASE_URL said, in the admin's folder.
    assert (installed.elsewhere / "escalations.db").exists()
