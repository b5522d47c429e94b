"""Socket Mode: with SLACK_APP_TOKEN the bot connects out to Slack and needs no public address."""

from __future__ import annotations

import asyncio

import aiohttp

from adapters.server import build_services, serve_for_tests
from bot.clock import ManualClock
from bot.settings import Settings
from fakes.slack_api import FakeSlack, slack_user
from fakes.slack_requests import post, slash
from support import london


async def test_a_slash_command_over_socket_mode_is_acknowledged_and_opens_the_form(tmp_path):
    fake = FakeSlack({"UALEX": slack_user("UALEX", "Alex Morgan")})
    base = await fake.start()
    fake.socket_envelopes.append(
        {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "command": "/escalate",
                "text": "",
                "user_id": "UALEX",
                "team_id": "T1",
                "channel_id": "DUALEX",
                "trigger_id": "trigger-socket",
                "response_url": "http://127.0.0.1:9/response",
            },
        }
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-1-test",
        slack_api_url=base,
    )
    services = build_services(settings, clock=ManualClock(london(2026, 12, 1, 10)))
    runner, port = await serve_for_tests(services)
    try:
        assert fake.called("apps.connections.open")
        (opened,) = await fake.wait_for("views.open", trigger_id="trigger-socket")
        assert opened.args["view"]["callback_id"] == "escalate_raise"
        for _ in range(200):
            if fake.socket_replies:
                break
            await asyncio.sleep(0.05)
        assert fake.socket_replies[0]["envelope_id"] == "env-1"
        # With no signing secret nothing over HTTP can be verified, so nothing over HTTP is taken.
        async with aiohttp.ClientSession() as session:
            body, content_type = slash("UALEX", "show E-0001")
            status, _ = await post(
                session, f"http://127.0.0.1:{port}/slack/events", body, content_type, secret=None
            )
        assert status == 404
    finally:
        await runner.cleanup()
        await fake.stop()
