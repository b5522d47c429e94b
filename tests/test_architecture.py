"""The core stays platform-free: bot/ imports no Slack, Teams or aiohttp code."""

from __future__ import annotations

import ast
import subprocess
import sys

from support import REPO

FORBIDDEN = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "aiohttp")


def test_no_module_in_bot_imports_platform_code():
    offenders = []
    for path in sorted((REPO / "bot").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_the_whole_core_loads_no_platform_package():
    modules = [p.stem for p in (REPO / "bot").glob("*.py") if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('bot.' + m)\n"
        f"print(sorted(k for k in sys.modules if k.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_core_never_reads_the_wall_clock():
    offenders = []
    for path in sorted((REPO / "bot").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today(", "sleep("):
            if needle in text:
                offenders.append(f"{path.name}: {needle}")
    assert offenders == []
