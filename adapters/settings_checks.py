"""Settings the platforms' SDKs would refuse only at first use (a send that fails, a request that
is never verified), refused at start instead: one line naming the variable and what it should be.

The SDKs' own checks end in a traceback (botbuilder raises a bare Exception for a SingleTenant
app without a password) or in nothing at all (an unknown MicrosoftAppType is taken as
MultiTenant; a MultiTenant app without a password starts and then fails every send).
"""

from __future__ import annotations

import re

from bot.settings import Settings, SettingsError

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# botbuilder compares the type without regard to case and takes anything else as MultiTenant.
APP_TYPES = {t.lower(): t for t in ("MultiTenant", "SingleTenant", "UserAssignedMSI")}
SECRET_HELP = "the client secret of the bot's Azure app registration (Certificates & secrets)"
TENANT_HELP = "the Directory (tenant) ID of the bot's Azure app registration"


def check_teams(settings: Settings) -> None:
    """Refuse Bot Framework settings that would fail at the first message to or from Teams."""
    app_type = APP_TYPES.get((settings.teams_app_type or "MultiTenant").strip().lower())
    if app_type is None:
        raise SettingsError(
            "MicrosoftAppType must be MultiTenant, SingleTenant or UserAssignedMSI "
            "(the type of the bot's Azure registration)"
        )
    app_id = settings.teams_app_id
    if not app_id:
        if settings.teams_app_password or app_type != "MultiTenant":
            raise SettingsError(
                "MicrosoftAppId is needed with MicrosoftAppPassword or MicrosoftAppType: the bot's "
                "Microsoft App ID, a GUID (Azure Bot resource → Configuration)"
            )
        return
    if not GUID.fullmatch(app_id.strip()):
        raise SettingsError(
            "MicrosoftAppId must be the bot's Microsoft App ID, a GUID such as "
            "123e4567-e89b-12d3-a456-426614174000 (Azure Bot resource → Configuration)"
        )
    if app_type != "UserAssignedMSI" and not settings.teams_app_password:
        raise SettingsError(
            f"MicrosoftAppPassword is needed with MicrosoftAppType={app_type}: {SECRET_HELP}; "
            "without it every message to Teams fails"
        )
    if app_type != "MultiTenant" and not settings.teams_tenant_id:
        raise SettingsError(f"MicrosoftAppTenantId is needed with MicrosoftAppType={app_type}: {TENANT_HELP}")


def check_slack(settings: Settings) -> None:
    """Refuse Slack tokens of the wrong kind, and a token that would be silently ignored."""
    if settings.slack_bot_token and not settings.slack_bot_token.startswith("xoxb-"):
        raise SettingsError(
            "SLACK_BOT_TOKEN must be the app's Bot User OAuth Token, which starts xoxb- "
            "(OAuth & Permissions; turn token rotation off)"
        )
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        raise SettingsError(
            "SLACK_APP_TOKEN must be an app-level token with connections:write, which starts xapp- "
            "(Basic Information → App-Level Tokens)"
        )
    if not settings.slack_enabled:
        for variable, value in (
            ("SLACK_APP_TOKEN", settings.slack_app_token),
            ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
        ):
            if value:
                raise SettingsError(
                    f"{variable} is set but SLACK_BOT_TOKEN is not: Slack needs the app's Bot User "
                    "OAuth Token (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)"
                )
