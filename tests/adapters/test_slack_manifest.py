"""The Slack app manifests: valid against Slack's schema, and matching what the code uses."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from support import REPO

SCHEMA = json.loads(
    (REPO / "tests/fixtures/slack/slack-manifest.schema.1.0.0.json").read_text(encoding="utf-8")
)
MANIFESTS = sorted((REPO / "manifest/slack").glob("*.yaml"))

# Each Web API method the adapter calls, and the bot scope it needs (none: no scope needed).
METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "files_upload_v2": "files:write",
    "conversations_open": "im:write",
    # Only ever in the bot's own DMs, to find a message whose send was cut short.
    "conversations_history": "im:history",
    "conversations_replies": "im:history",
    "reactions_add": "reactions:write",
    "users_info": "users:read",
    "users_lookupByEmail": "users:read.email",
    "views_open": None,
    "views_update": None,
    "views_publish": None,
    # SLACK_BOT_TOKEN's own workspace, asked once when the bot serves several.
    "auth_test": None,
}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_against_slacks_schema(path):
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft7Validator(SCHEMA).iter_errors(manifest), key=str)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_asks_for_exactly_the_scopes_and_events_the_code_uses(path):
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    code = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "adapters/slack").glob("*.py"))
    called = set(re.findall(r"client\.([a-zA-Z_0-9]+)\(", code))
    assert called <= set(METHOD_SCOPES), (
        f"a Web API method without a known scope: {called - set(METHOD_SCOPES)}"
    )
    needed = {METHOD_SCOPES[m] for m in called if METHOD_SCOPES[m]} | {"commands", "im:history"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {"app_home_opened", "message.im"}
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/escalate"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    if "external_select" in code and not manifest["settings"].get("socket_mode_enabled"):
        # Over HTTP, Slack asks this address for the people menus' options.
        assert manifest["settings"]["interactivity"]["message_menu_options_url"].endswith("/slack/events")


def test_the_socket_mode_manifest_needs_no_public_address():
    manifest = yaml.safe_load((REPO / "manifest/slack/manifest.socket-mode.yaml").read_text(encoding="utf-8"))
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in json.dumps(manifest) and '"url"' not in json.dumps(manifest)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_installing_into_a_workspace_asks_for_the_manifests_scopes(path):
    from adapters.slack.oauth import BOT_SCOPES

    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])


def test_slack_returns_an_installer_to_the_bots_oauth_redirect():
    manifest = yaml.safe_load((REPO / "manifest/slack/manifest.yaml").read_text(encoding="utf-8"))
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://escalation-bot.example.org/slack/oauth_redirect"
    ]
