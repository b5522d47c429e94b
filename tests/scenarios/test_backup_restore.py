"""`escalation-bot backup` while a real `serve` process writes, then `restore` into a fresh place:
every escalation in the backup exports exactly as the live database exports it."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime

import aiohttp

from adapters.backup import inspect
from bot.escalation import Escalation
from bot.record import export_markdown
from bot.storage import Storage
from fakes.healthy import until_healthy
from fakes.slack_api import FakeSlack, slack_user
from fakes.slack_requests import SECRET, fill, post, slash, view_submission
from support import REPO, cli_process

DIRECTORY = """id,name,agency,role,manager_id,email,slack_id
alex,Alex Morgan,Camden Children's Services,Social Worker,,alex@example.org,UALEX
sam,Sam Patel,Whittington Health,Health Visitor,,sam@example.org,USAM
"""
EXPORTED_AT = datetime(2030, 1, 1, tzinfo=UTC)


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.cli", *args, env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def raise_one(session, url: str, fake: FakeSlack, n: int) -> None:
    """Alex raises a difference through Slack; returns once Sam has been told (it is recorded)."""
    status, _ = await post(session, f"{url}/slack/events", *slash("UALEX", trigger_id=f"trig-{n}"))
    assert status == 200
    (opened,) = await fake.wait_for("views.open", trigger_id=f"trig-{n}")
    answers = {
        "risk_now": "no",
        "case_reference": f"CIN-{1000 + n}",
        "counterpart": "dir:sam",
        "category": "threshold",
        "issue": f"Difference number {n}.",
        "risk": "Toddler; repeated injuries.",
        "outcome_wanted": "Keep the case open.",
    }
    view = {**fill(opened.args["view"], **answers), "id": f"V-{n}"}
    assert await post(session, f"{url}/slack/events", *view_submission("UALEX", view)) == (200, "")
    await fake.wait_for("chat.postMessage", channel="USAM", count=n)


def exports(url: str) -> dict[str, str]:
    store = Storage.open(url, create=False)
    try:
        ids = [r[0] for r in store.db.execute("SELECT id FROM escalations ORDER BY number")]
        return {
            i: export_markdown(Escalation.from_events(store.events(i)), store.person, exported_at=EXPORTED_AT)
            for i in ids
        }
    finally:
        store.close()


async def test_a_backup_taken_while_serve_writes_restores_every_escalation_as_it_was(tmp_path):
    fake = FakeSlack({"UALEX": slack_user("UALEX", "Alex Morgan"), "USAM": slack_user("USAM", "Sam Patel")})
    base = await fake.start()
    port = free_port()
    live = tmp_path / "live" / "bot.db"
    live.parent.mkdir()
    (tmp_path / "people.csv").write_text(DIRECTORY, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{live}",
        "PORT": str(port),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": base,
    }
    assert (await run_cli(env, "directory", "import", str(tmp_path / "people.csv")))[0] == 0
    server = await cli_process(env, "serve", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    backup_file = tmp_path / "backups" / "bot-backup.db"
    backup_file.parent.mkdir()
    raised = 0
    try:
        async with aiohttp.ClientSession() as session:
            await until_healthy(session, url)
            for _ in range(3):
                raised += 1
                await raise_one(session, url, fake, raised)
            # The backup runs while differences go on being raised; more are raised after it.
            backup = asyncio.create_task(run_cli(env, "backup", str(backup_file)))
            while not backup.done():
                raised += 1
                await raise_one(session, url, fake, raised)
            code, out, err = await backup
            assert code == 0, err
            assert out.startswith(f"Backed up sqlite:///{live} to {backup_file}: schema version ")
            for _ in range(2):
                raised += 1
                await raise_one(session, url, fake, raised)

            # Restoring over the live database is refused while the server runs on it.
            code, out, err = await run_cli(env, "restore", str(backup_file))
            assert code == 2 and out == ""
            assert err.splitlines() == [
                f"escalation-bot: error: a server is running on {str(live)!r} (it holds bot.db.lock); "
                "stop it first, then restore"
            ]
    finally:
        server.terminate()
        await server.communicate()
        await fake.stop()

    # Restored into a fresh place, the backup holds whole escalations only, each as it was.
    fresh = tmp_path / "fresh" / "bot.db"
    fresh.parent.mkdir()
    fresh_env = {**env, "DATABASE_URL": f"sqlite:///{fresh}"}
    code, out, err = await run_cli(fresh_env, "restore", str(backup_file))
    assert code == 0, err
    assert "kept in" not in out  # nothing was there to replace
    restored, original = exports(f"sqlite:///{fresh}"), exports(f"sqlite:///{live}")
    assert len(original) == raised
    assert 3 <= len(restored) < raised
    assert restored == {i: original[i] for i in restored}
    assert list(restored) == [f"E-{n:04d}" for n in range(1, len(restored) + 1)]
    assert inspect(fresh).escalations == len(restored)  # and SQLite's own check finds it whole
    code, out, _ = await run_cli(fresh_env, "export", "E-0003")
    assert code == 0 and "Difference number 3." in out and "CIN-1003" in out

    # Restoring again keeps the database it replaces beside it.
    code, out, err = await run_cli(fresh_env, "restore", str(backup_file))
    assert code == 0, err
    (kept,) = fresh.parent.glob("bot.db.before-restore-*")
    assert out.splitlines()[-1] == f"The database it replaced is kept in {kept}."
