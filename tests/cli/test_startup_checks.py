"""`escalation-bot serve` with a setting the platforms' SDKs would refuse only at first use: one
line at start naming the variable and what it should be, exit status 2, and no secret in it."""

from __future__ import annotations

import pytest

from adapters.cli import main
from bot.settings import ENVIRONMENT

APP_ID = "5b1f0c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e"
PASSWORD = "Secret-app-password-8c1d"
TENANT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SLACK_SECRET = "Secret-signing-secret-3e7f"


@pytest.fixture
def serve(tmp_path, monkeypatch, capsys):
    """Run `escalation-bot serve` in-process with exactly these variables set."""
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")

    def run(env: dict[str, str]) -> tuple[int, str, str]:
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        code = main(["serve"])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (  # botbuilder raises "Property 'APP_PASSWORD' is expected" with a 20-line traceback
            {"MicrosoftAppId": APP_ID, "MicrosoftAppType": "SingleTenant", "MicrosoftAppTenantId": TENANT},
            "MicrosoftAppPassword is needed with MicrosoftAppType=SingleTenant: the client secret",
        ),
        (
            {"MicrosoftAppId": APP_ID, "MicrosoftAppType": "SingleTenant", "MicrosoftAppPassword": PASSWORD},
            "MicrosoftAppTenantId is needed with MicrosoftAppType=SingleTenant: the Directory (tenant) ID",
        ),
        (  # botbuilder takes any other type as MultiTenant, silently
            {"MicrosoftAppId": APP_ID, "MicrosoftAppType": "Banana", "MicrosoftAppPassword": PASSWORD},
            "MicrosoftAppType must be MultiTenant, SingleTenant or UserAssignedMSI",
        ),
        (  # starts, then every send to Teams fails
            {"MicrosoftAppId": APP_ID},
            "MicrosoftAppPassword is needed with MicrosoftAppType=MultiTenant",
        ),
        (
            {"MicrosoftAppId": APP_ID, "MicrosoftAppType": "UserAssignedMSI"},
            "MicrosoftAppTenantId is needed with MicrosoftAppType=UserAssignedMSI",
        ),
        (  # no token could ever carry it as its audience
            {"MicrosoftAppId": "my-bot", "MicrosoftAppPassword": PASSWORD},
            "MicrosoftAppId must be the bot's Microsoft App ID, a GUID",
        ),
        (  # Teams would stay off without a word
            {"MicrosoftAppPassword": PASSWORD},
            "MicrosoftAppId is needed with MicrosoftAppPassword or MicrosoftAppType",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxp-1-user-token", "SLACK_SIGNING_SECRET": SLACK_SECRET},
            "SLACK_BOT_TOKEN must be the app's Bot User OAuth Token, which starts xoxb-",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1-bot", "SLACK_APP_TOKEN": "xoxb-1-bot"},
            "SLACK_APP_TOKEN must be an app-level token with connections:write, which starts xapp-",
        ),
        (  # Slack would stay off without a word
            {"SLACK_APP_TOKEN": "xapp-1-app"},
            "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not",
        ),
        (
            {"SLACK_SIGNING_SECRET": SLACK_SECRET},
            "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not",
        ),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be text or json"),
        ({"TEAMS_PRIVACY_URL": "http://p.org.uk/privacy"}, "TEAMS_PRIVACY_URL must be an https URL"),
    ],
    ids=lambda v: "-".join(f"{k}={w[:14]}" for k, w in v.items()) if isinstance(v, dict) else "",
)
def test_a_setting_that_would_fail_at_first_use_stops_the_start_in_one_line(serve, env, expected):
    code, out, err = serve(env)
    assert code == 2
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("escalation-bot: error: ") and expected in line, line
    for secret in (PASSWORD, SLACK_SECRET, "xoxp-1-user-token", "xoxb-1-bot"):
        assert secret not in line
