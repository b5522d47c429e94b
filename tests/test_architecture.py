"""The core stays platform-free: bot/ imports no Slack, Teams or aiohttp code."""

from __future__ import annotations

import ast
import subprocess
import sys

from support import REPO

FORBIDDEN = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "aiohttp")


def test_no_module_in_bot_imports_platform_code():
    offenders = []
    for path in sorted((REPO / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_the_whole_core_loads_no_platform_package():
    modules = [".".join(p.relative_to(REPO).with_suffix("").parts) for p in (REPO / "bot").rglob("*.py")]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
        f"print(sorted(k for k in sys.modules if k.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"


WALL_CLOCK = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter", "sleep"}
TIME_OWNERS = {"datetime", "date", "time", "asyncio"}


def test_the_core_never_reads_the_wall_clock():
    """No call like datetime.now(), date.today(), time.time() or sleep() anywhere in bot/."""
    offenders = []
    for path in sorted((REPO / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in {"time", "asyncio"}:
                offenders += [
                    f"{path.name}: from {node.module} import {a.name}"
                    for a in node.names
                    if a.name in WALL_CLOCK
                ]
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if node.func.attr in WALL_CLOCK and owner_name in TIME_OWNERS:
                offenders.append(f"{path.name}:{node.lineno}: {owner_name}.{node.func.attr}()")
    assert offenders == []


def test_the_watch_names_database_work_an_adapter_does_on_the_event_loop(tmp_path, monkeypatch):
    """tests/conftest.py watches every test's databases; here the watch is shown to catch what it
    is for: an adapter's coroutine reaching the database on the event loop. The same work through
    the storage thread is no offence."""
    import asyncio

    from adapters.storage_thread import StorageThread
    from bot.storage import Storage
    from fakes.off_loop import OffLoopWatch

    monkeypatch.undo()  # this test's store is watched by its own watch only
    store = Storage.open(f"sqlite:///{tmp_path / 'bot.db'}")
    watch = OffLoopWatch()
    watch.attach(store)
    source = (
        "async def on_the_loop(store):\n"
        "    return store.person('alex')\n"
        "async def in_the_storage_thread(store, storage_thread):\n"
        "    return await storage_thread.run(store.person, 'alex')\n"
    )
    handlers: dict = {}
    exec(compile(source, str(REPO / "adapters" / "handler_example.py"), "exec"), handlers)
    storage_thread = StorageThread()

    async def both() -> None:
        await handlers["on_the_loop"](store)
        await handlers["in_the_storage_thread"](store, storage_thread)

    asyncio.run(both())
    storage_thread.close()
    store.close()
    assert watch.offences == [
        "adapters/handler_example.py:2 in on_the_loop: the server's database work on the event loop"
    ]
