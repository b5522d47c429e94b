"""One typed settings object, built at start-up from the environment; explicit arguments win."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from bot.storage import DEFAULT_DATABASE_URL

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TEAMS_LOGIN_URL = "https://login.microsoftonline.com"
DEFAULT_TEAMS_GRAPH_URL = "https://graph.microsoft.com"
# Microsoft's public Teams endpoint for proactive messages, used only for a tenant the bot has not
# heard from yet (each tenant's own service URL is learned from what it sends, and preferred).
DEFAULT_TEAMS_SERVICE_URL = "https://smba.trafficmanager.net/teams/"

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
    "smtp_url": "SMTP_URL",
    "mail_from": "MAIL_FROM",
    "public_url": "PUBLIC_URL",
    "page_secret": "PAGE_SECRET",
    "teams_graph_install_tenants": "TEAMS_GRAPH_INSTALL_TENANTS",
    "teams_catalog_app_id": "TEAMS_CATALOG_APP_ID",
    "teams_login_url": "TEAMS_LOGIN_URL",
    "teams_graph_url": "TEAMS_GRAPH_URL",
    "teams_service_url": "TEAMS_SERVICE_URL",
    "log_format": "LOG_FORMAT",
    "metrics_token": "METRICS_TOKEN",
    "teams_manifest_id": "TEAMS_MANIFEST_ID",
    "teams_privacy_url": "TEAMS_PRIVACY_URL",
    "teams_terms_url": "TEAMS_TERMS_URL",
    "teams_website_url": "TEAMS_WEBSITE_URL",
    "retention": "RETENTION",
    "work_check_seconds": "WORK_CHECK_SECONDS",
    "outbox_lease_seconds": "OUTBOX_LEASE_SECONDS",
}
LOG_FORMATS = ("text", "json")
_TEAMS_URLS = {"teams_login_url", "teams_graph_url", "teams_service_url"}


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
    # Email and the secure page, for people on neither platform. The SMTP URL can carry a password.
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str | None = None
    public_url: str | None = None
    page_secret: str | None = field(default=None, repr=False)
    # The tenants whose admins granted the bot TeamsAppInstallation.ReadWriteForUser.All, so it may
    # install itself for someone it cannot reach yet; and the app's id in their app catalogs
    # (one id, or tenant=id pairs where each tenant uploaded the app itself).
    teams_graph_install_tenants: tuple[str, ...] = ()
    teams_catalog_app_id: str | None = None
    teams_login_url: str = DEFAULT_TEAMS_LOGIN_URL
    teams_graph_url: str = DEFAULT_TEAMS_GRAPH_URL
    teams_service_url: str = DEFAULT_TEAMS_SERVICE_URL
    # What the admin sees: log lines as text or JSON, and who may read GET /metrics (anyone
    # who can reach it, unless a token is set).
    log_format: str = "text"
    metrics_token: str | None = field(default=None, repr=False)
    # The Teams app package (make teams-package): its id, generated from the bot id when not
    # given, and the partnership's own addresses in place of the manifest's placeholders.
    teams_manifest_id: str | None = None
    teams_privacy_url: str | None = None
    teams_terms_url: str | None = None
    teams_website_url: str | None = None
    # How long a closed escalation's content is kept: a period for every policy and any policy's
    # own, e.g. "6y" or "6y,enfield=7y" (bot/retention.py; the default's reasons are in the README).
    retention: str = "6y"
    # How often an idle server looks for work it was not told of: reminders and messages another
    # replica queued, or left when it stopped (seconds).
    work_check_seconds: float = 60.0
    # How long a message one server has claimed is its alone to send, before another may take it
    # over (seconds): longer than any one send can take.
    outbox_lease_seconds: int = 120

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
    def graph_install_tenants(self) -> frozenset[str]:
        """Tenants where the bot may install its Teams app for a person through Microsoft Graph."""
        return frozenset(t.lower() for t in self.teams_graph_install_tenants)

    def catalog_app_ids(self) -> dict[str, str]:
        """The app's Teams app catalog id in each granted tenant (a bare id serves every tenant)."""
        given = [p.strip() for p in (self.teams_catalog_app_id or "").split(",") if p.strip()]
        default = next((p for p in given if "=" not in p), None)
        pairs = dict(p.split("=", 1) for p in given if "=" in p)
        found = {t.strip().lower(): i.strip() for t, i in pairs.items()}
        return {t: found.get(t) or default or "" for t in self.graph_install_tenants}

    def check_teams_graph(self) -> None:
        """Refuse Graph install settings that cannot work, naming the variable (never a value)."""
        granted = self.graph_install_tenants
        if not granted:
            if self.teams_catalog_app_id:
                raise SettingsError("TEAMS_CATALOG_APP_ID is set but TEAMS_GRAPH_INSTALL_TENANTS is empty")
            return
        if not (self.teams_app_id and self.teams_app_password):
            raise SettingsError(
                "TEAMS_GRAPH_INSTALL_TENANTS needs MicrosoftAppId and MicrosoftAppPassword "
                "(the bot asks each tenant for its Graph token with them)"
            )
        app_type = (self.teams_app_type or "MultiTenant").lower()
        home = (self.teams_tenant_id or "").lower()
        if app_type == "userassignedmsi":
            raise SettingsError("TEAMS_GRAPH_INSTALL_TENANTS needs MicrosoftAppType MultiTenant")
        if app_type == "singletenant" and granted - {home}:
            raise SettingsError(
                "TEAMS_GRAPH_INSTALL_TENANTS names a tenant other than MicrosoftAppTenantId, which a "
                "SingleTenant app cannot reach; use MicrosoftAppType=MultiTenant"
            )
        if granted - self.trusted_tenants:
            raise SettingsError(
                "TEAMS_GRAPH_INSTALL_TENANTS names a tenant that is not in TEAMS_TRUSTED_TENANTS; "
                "the bot installs itself only in the partnership's own organisations"
            )
        entries = [p.strip() for p in (self.teams_catalog_app_id or "").split(",") if p.strip()]
        named = {p.split("=", 1)[0].strip().lower() for p in entries if "=" in p}
        if any(not p.split("=", 1)[-1].strip() for p in entries) or named - granted:
            raise SettingsError(
                "TEAMS_CATALOG_APP_ID must be one app id, or tenant=id pairs for tenants in "
                "TEAMS_GRAPH_INSTALL_TENANTS, separated by commas"
            )
        if not all(self.catalog_app_ids().values()):
            raise SettingsError(
                "TEAMS_GRAPH_INSTALL_TENANTS needs TEAMS_CATALOG_APP_ID: the app's id in each of those "
                "tenants' Teams app catalogs"
            )

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
    if name == "public_url":
        if not raw.startswith(("http://", "https://")):
            raise SettingsError(f"{variable} must be an http(s) URL, e.g. https://escalation-bot.example.org")
        return raw.rstrip("/")
    if name == "teams_graph_install_tenants":
        return tuple(t for t in raw.replace(";", ",").replace(" ", ",").split(",") if t)
    if name in _TEAMS_URLS and not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{variable} must be an http(s) URL")
    if name == "log_format":
        if raw.strip().lower() not in LOG_FORMATS:
            raise SettingsError(f"{variable} must be text or json")
        return raw.strip().lower()
    if name in {"teams_privacy_url", "teams_terms_url", "teams_website_url"}:
        if not raw.startswith("https://"):
            raise SettingsError(f"{variable} must be an https URL, e.g. https://partnership.org.uk/privacy")
        return raw
    if name == "outbox_lease_seconds":
        if not raw.isdigit() or not 30 <= int(raw) <= 86400:
            raise SettingsError(f"{variable} must be a whole number of seconds from 30 to 86400")
        return int(raw)
    if name == "work_check_seconds":
        try:
            seconds = float(raw)
        except ValueError:
            seconds = 0.0
        if not 0.1 <= seconds <= 3600:
            raise SettingsError(f"{variable} must be a number of seconds from 0.1 to 3600")
        return seconds
    if name == "slack_api_url" and not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{variable} must be an http(s) URL")
    return raw
