"""The installed program, shared by the tests of the package and of its deployment files: a wheel
built from the tree and installed into a fresh virtual environment.

Offline by design: the wheel is built with this venv's own setuptools (no build isolation), and the
fresh venv gets the wheel's declared dependencies, and nothing else, as links into this venv's
site-packages, so a module the program needs but does not declare fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from support import REPO

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


# Session scope: built once (about 5 s), and only when a test asks for it.
@pytest.fixture(scope="session")
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
