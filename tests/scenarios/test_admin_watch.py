"""What the IT admin watches: log lines as JSON (LOG_FORMAT=json) that never carry what anyone
typed or a secret, and GET /metrics. Over real HTTP, through a journey across Slack, Teams and
email, with a Slack outage in it."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from test_across_agencies import (
    TENANT_B,
    WORKSPACE_A,
    fill,
    install_into_workspace_c,
    partnership,
    raise_in_slack,
    slack_button,
    view_submission,
)

from adapters.logs import QUIET, configure_logging
from bot.settings import Settings
from fakes.slack_api import Failure
from fakes.slack_requests import SECRET
from fakes.teams_activities import activity, install

TYPED = (  # what people typed in the journey: none of it may reach a log line
    "Health visiting plans to close the case.",
    "Baby of 8 months; missed appointments.",
    "Keep health visiting open until the review.",
    "Secret-note-5d1e: the family is engaging with the clinic.",
    "Secret-reason-77ab: still no agreement",
    "CIN-20931",
)


@pytest.fixture
def json_log():
    """The server's logging as LOG_FORMAT=json configures it, every logger at DEBUG."""
    buffer = io.StringIO()
    handler = configure_logging(buffer, level=logging.DEBUG, log_format="json")
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.DEBUG)  # redaction, not levels, keeps them clean
    yield buffer.getvalue
    logging.getLogger().removeHandler(handler)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.NOTSET)


def secrets_of(settings: Settings) -> list[str]:
    values = [SECRET, settings.slack_bot_token, settings.slack_client_secret, settings.page_secret]
    return [v for v in values if v]


async def test_a_journey_logs_json_lines_with_nothing_typed_and_no_secret(tmp_path, json_log):
    async with partnership(tmp_path) as world:
        await install_into_workspace_c(world)
        await world.teams_activity(install(world.teams.service_url, "sam", tenant=TENANT_B))
        await raise_in_slack(world)
        await world.deliver()
        note = {
            "action": "note_submit",
            "id": "E-0001",
            "form": "Phone call",
            "involved": "Sam, Alex",
            "discussed": TYPED[3],
            "outcome": "Still disagree",
        }
        await world.teams_activity(
            activity(world.teams.service_url, "sam", value=note, reply_to_id="n1", tenant=TENANT_B)
        )
        # Slack fails for 20 minutes while Alex escalates: warnings, an alert, the recovery.
        world.slack.fail("chat.postMessage", *[Failure(status=500)] * 100)
        await slack_button(world, "UALEX", WORKSPACE_A, "esc:escalate", "E-0001", "t-esc")
        (form,) = await world.slack.wait_for("views.open", trigger_id="t-esc")
        await world.slack_request(view_submission("UALEX", fill(form.args["view"], reason=TYPED[4])))
        for _ in range(3):
            world.clock.advance(timedelta(minutes=10))
            await world.deliver()
        world.slack.failures["chat.postMessage"].clear()
        world.clock.advance(timedelta(hours=1))
        await world.deliver()
        await world.deliver()
        async with world.session.get(f"{world.root}/metrics") as response:
            assert response.status == 200
        async with world.session.post(f"{world.root}/slack/events", data=TYPED[0]) as response:
            assert response.status == 401
        settings = world.services.settings

    lines = json_log().splitlines()
    entries = [json.loads(line) for line in lines]  # each line is one JSON object
    assert all(set(e) >= {"time", "level", "logger", "message"} for e in entries)
    assert any(e["logger"] == "escalation_bot.health" for e in entries)  # the outage was logged
    text = "\n".join(lines)
    for typed in TYPED:
        assert typed not in text, f"{typed[:20]}… reached the log"
    for secret in secrets_of(settings):
        assert secret not in text, "a secret reached the log"


def metric(exposition: str, name: str) -> float:
    """The value of one sample line, `name` including its labels."""
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics")


async def test_metrics_show_the_outbox_reminders_sends_failures_and_requests(slack):
    async def scrape(headers: dict[str, str] | None = None) -> str:
        async with slack.session.get(f"{slack.root}/metrics", headers=headers or {}) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            return await response.text()

    store, bot = slack.services.bot.store, slack.services.bot
    from bot.messages import Message, MessageKind

    first = await scrape()
    assert metric(first, "escalation_bot_outbox_waiting") == 0
    assert metric(first, "escalation_bot_outbox_oldest_waiting_seconds") == 0

    slack.fake.fail("chat.postMessage", Failure(status=503))
    await slack.run(
        store.enqueue, [Message(to="alex", text="Hello", kind=MessageKind.NOTICE)], now=bot.clock.now()
    )
    await slack.tick()  # fails once
    slack.clock.advance(timedelta(seconds=90))
    during = await scrape()
    assert metric(during, "escalation_bot_outbox_waiting") == 1
    assert metric(during, "escalation_bot_outbox_oldest_waiting_seconds") == 90
    assert metric(during, 'escalation_bot_send_failures_total{platform="slack",retry="true"}') == 1
    assert metric(during, 'escalation_bot_platform_failing_seconds{platform="slack"}') == 90

    await slack.tick()  # delivered
    after = await scrape()
    assert metric(after, "escalation_bot_outbox_waiting") == 0
    assert metric(after, 'escalation_bot_messages_sent_total{platform="slack"}') == 1
    assert 'escalation_bot_platform_failing_seconds{platform="slack"}' not in after
    assert metric(after, "escalation_bot_reminders_due") == 0
    ok = 'route="/metrics",status="200"'
    assert metric(after, f'escalation_bot_http_requests_total{{method="GET",{ok}}}') == 2
    assert metric(after, 'escalation_bot_http_request_duration_seconds_count{route="/metrics"}') == 2


async def test_metrics_can_ask_for_a_token(tmp_path):
    from fakes.slack_bot import running_slack_bot

    async with running_slack_bot(tmp_path, metrics_token="Secret-metrics-token") as slack:
        async with slack.session.get(f"{slack.root}/metrics") as response:
            assert response.status == 401
        headers = {"Authorization": "Bearer Secret-metrics-token"}
        async with slack.session.get(f"{slack.root}/metrics", headers=headers) as response:
            assert response.status == 200
