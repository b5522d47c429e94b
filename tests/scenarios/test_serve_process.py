"""`escalation-bot serve` as a real process, against the fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import aiohttp

from fakes.healthy import until_healthy
from fakes.slack_api import FakeSlack, slack_user
from fakes.slack_requests import SECRET, fill, post, slash, view_submission
from support import cli_process

DIRECTORY = """id,name,agency,role,manager_id,email,slack_id
alex,Alex Morgan,Camden Children's Services,Social Worker,,alex@example.org,UALEX
sam,Sam Patel,Whittington Health,Health Visitor,,sam@example.org,USAM
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await cli_process(env, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def test_serve_answers_slack_and_records_the_escalation(tmp_path):
    fake = FakeSlack({"UALEX": slack_user("UALEX", "Alex Morgan"), "USAM": slack_user("USAM", "Sam Patel")})
    base = await fake.start()
    port = free_port()
    (tmp_path / "people.csv").write_text(DIRECTORY, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PORT": str(port),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": base,
        "LOG_FORMAT": "json",
    }
    assert (await run_cli(env, "directory", "import", str(tmp_path / "people.csv")))[0] == 0
    server = await cli_process(env, "serve", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await until_healthy(session, url)
            status, _ = await post(session, f"{url}/slack/events", *slash("UALEX", trigger_id="trig-77"))
            assert status == 200
            (opened,) = await fake.wait_for("views.open", trigger_id="trig-77")
            answers = {
                "risk_now": "no",
                "case_reference": "CIN-555",
                "counterpart": "dir:sam",
                "category": "threshold",
                "issue": "Closing the case too early.",
                "risk": "Toddler; repeated injuries.",
                "outcome_wanted": "Keep the case open.",
            }
            submission = view_submission("UALEX", fill(opened.args["view"], **answers))
            assert await post(session, f"{url}/slack/events", *submission) == (200, "")
            (to_sam,) = await fake.wait_for("chat.postMessage", channel="USAM")
            assert "Closing the case too early." in json.dumps(to_sam.args)
        code, out, err = await run_cli(env, "list", "--json")
        assert code == 0, err
        (row,) = json.loads(out)
        assert (row["id"], row["policy"], row["case_reference"], row["stage"], row["status"]) == (
            "E-0001",
            "camden",
            "CIN-555",
            1,
            "open",
        )
    finally:
        server.terminate()
        _, logs = await server.communicate()
        await fake.stop()
    # Secrets and the text of concerns never reach the logs.
    text = logs.decode()
    assert "xoxb-test-token" not in text and SECRET not in text and "Closing the case too early." not in text
    # LOG_FORMAT=json: every line is one JSON object, for a log collector.
    entries = [json.loads(line) for line in text.splitlines()]
    started = [e for e in entries if e["logger"] == "escalation_bot.server"]
    assert any(e["message"].startswith("policies:") for e in started)


async def test_serve_refuses_to_run_slack_without_a_way_to_verify_requests(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PORT": str(free_port()),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
    }
    code, _, err = await run_cli(env, "serve")
    assert code == 2
    assert err.strip().splitlines() == [
        "escalation-bot: error: SLACK_SIGNING_SECRET is needed to verify Slack's requests over HTTP "
        "(or set SLACK_APP_TOKEN to use Socket Mode)"
    ]
    assert "xoxb-test-token" not in err
