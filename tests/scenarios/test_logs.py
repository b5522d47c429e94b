"""Nothing anyone typed, and no secret, reaches the log: a whole journey on Slack and on Teams, and
every kind of refused request, with the server's own logging at DEBUG for every logger."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from adapters.logs import QUIET, configure_logging
from fakes.slack_requests import SECRET, event, fill, interaction, reply, slash, view_submission
from fakes.teams_activities import RAISE, activity, install

CONCERN = "Secret-concern-7f3a: baby has unexplained bruising"
RISK = "Secret-risk-91bc: mother fears the partner"
NOTE = "Secret-note-c0de: phoned the GP at 2pm"
TEAMS_CONCERN = "Secret-teams-concern-55aa"


@pytest.fixture
def log_text():
    """The server's logging as `serve` configures it, every logger at DEBUG, into a buffer."""
    buffer = io.StringIO()
    handler = configure_logging(buffer, level=logging.DEBUG)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.DEBUG)  # redaction, not levels, keeps them clean
    yield buffer.getvalue
    logging.getLogger().removeHandler(handler)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.NOTSET)


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret[:20]}… reached the log"


async def test_a_slack_journey_and_refused_requests_log_nothing_typed(slack, log_text):
    status, _ = await slack.send(slash("UALEX", trigger_id="t1"))
    assert status == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t1")
    answers = {
        "risk_now": "no",
        "case_reference": "CIN-20931",
        "counterpart": "dir:sam",
        "category": "threshold",
        "issue": CONCERN,
        "risk": RISK,
        "outcome_wanted": "Keep it open",
    }
    submission = view_submission("UALEX", fill(opened.args["view"], **answers))
    assert (await slack.send(submission))[0] == 200
    await slack.tick()
    case = slack.fake.posts_to("UALEX")[0]
    channel, thread = case.response["channel"], case.response["ts"]
    await slack.send(event(reply("UALEX", channel, thread, NOTE, "1700000000.900001"), "Ev1"))
    await slack.tick()
    # Refused: a stale signature, a wrong secret, no signature, malformed and misshapen payloads.
    assert (await slack.send(submission, timestamp=int(time.time()) - 6 * 60))[0] == 401
    assert (await slack.send(submission, secret="not-the-secret"))[0] == 401
    assert (await slack.send(submission, secret=None))[0] == 401
    assert (await slack.send(("payload=%7B" + CONCERN, "application/x-www-form-urlencoded")))[0] == 400
    bad = {"type": "view_submission", "user": {"id": CONCERN}, "view": {"id": "V1"}}
    assert (await slack.send(interaction(bad)))[0] == 400
    text = log_text()
    assert "escalation_bot" in text  # the log was captured
    assert_clean(text, CONCERN, RISK, NOTE, SECRET, "xoxb-test")


async def test_a_teams_journey_and_refused_activities_log_nothing_typed(teams, log_text):
    url = teams.connector.service_url
    await teams.post(install(url, "alex"))
    await teams.post(activity(url, "alex", value={**RAISE, "issue": TEAMS_CONCERN, "form": "f1"}))
    await teams.post(activity(url, "alex", text=f"escalate frobnicate {TEAMS_CONCERN}"))
    await teams.tick()
    # Malformed bodies: not JSON, nested too deep, not an activity.
    for body in (TEAMS_CONCERN, "[" * 100_000, json.dumps({"text": TEAMS_CONCERN})):
        async with teams.session.post(
            teams.url, data=body, headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400
    text = log_text()
    assert_clean(text, TEAMS_CONCERN)
