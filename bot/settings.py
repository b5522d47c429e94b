"""One typed settings object, built at start-up from the environment; explicit arguments win."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from bot.storage import DEFAULT_DATABASE_URL

DEFAULT_SLACK_API_URL = "https://slack.com/api/"

# Environment variable for each setting; secrets are kept out of repr() so they never reach logs.
ENVIRONMENT = {
    "database_url": "DATABASE_URL",
    "policies_dir": "POLICIES_DIR",
    "port": "PORT",
    "default_policy": "DEFAULT_POLICY",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "teams_app_id": "MicrosoftAppId",
    "teams_app_password": "MicrosoftAppPassword",
    "teams_tenant_id": "MicrosoftAppTenantId",
    "teams_app_type": "MicrosoftAppType",
    "teams_allow_unauthenticated": "TEAMS_ALLOW_UNAUTHENTICATED",
    "teams_trusted_tenants": "TEAMS_TRUSTED_TENANTS",
}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable, never its value."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    policies_dir: Path | None = None
    port: int = 3978
    default_policy: str = "camden"
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    # The app's OAuth credentials: with both, the bot can be installed into each agency's workspace.
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    teams_app_id: str | None = None
    teams_app_password: str | None = field(default=None, repr=False)
    teams_tenant_id: str | None = None
    teams_app_type: str = "MultiTenant"
    teams_allow_unauthenticated: bool = False
    # The Microsoft 365 tenants (the partnership's agencies) whose people may be linked to the
    # directory; empty means only MicrosoftAppTenantId, if set.
    teams_trusted_tenants: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the environment; keyword overrides (not None) take precedence."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, variable in ENVIRONMENT.items():
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            values[name] = _convert(name, variable, raw)
        known = {f.name for f in fields(cls)}
        values.update({k: v for k, v in overrides.items() if k in known and v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def trusted_tenants(self) -> frozenset[str]:
        """Tenants whose Teams users may be linked to directory people."""
        given = self.teams_trusted_tenants or ((self.teams_tenant_id,) if self.teams_tenant_id else ())
        return frozenset(t.lower() for t in given)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token) or self.slack_oauth

    @property
    def slack_oauth(self) -> bool:
        """Installable into many workspaces through Slack's OAuth flow."""
        return bool(self.slack_client_id and self.slack_client_secret)


def _convert(name: str, variable: str, raw: str) -> object:
    if name == "policies_dir":
        return Path(raw)
    if name == "port":
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise SettingsError(f"{variable} must be a port number (1-65535)")
        return int(raw)
    if name == "teams_allow_unauthenticated":
        return raw.strip().lower() in {"1", "true", "yes"}
    if name == "teams_trusted_tenants":
        return tuple(t for t in raw.replace(";", ",").replace(" ", ",").split(",") if t)
    if name == "slack_api_url" and not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{variable} must be an http(s) URL")
    return raw
