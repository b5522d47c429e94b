"""The Teams app package: a manifest valid against the schema it declares, icons of the right size."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zipfile

import jsonschema
import pytest

from support import REPO

TEAMS = REPO / "manifest" / "teams"
BOT_ID = "11111111-2222-3333-4444-555555555555"
OTHER_BOT_ID = "99999999-8888-4777-8666-555555555555"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_manifest_is_valid_against_the_schema_version_it_declares():
    manifest = json.loads((TEAMS / "manifest.json").read_text(encoding="utf-8"))
    version = manifest["manifestVersion"]
    assert manifest["$schema"].endswith(f"/v{version}/MicrosoftTeams.schema.json")
    schema_file = REPO / f"tests/fixtures/teams/MicrosoftTeams.v{version}.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(manifest), key=str)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_manifest_offers_the_bot_in_personal_and_team_scope_with_its_commands():
    manifest = json.loads((TEAMS / "manifest.json").read_text(encoding="utf-8"))
    (bot,) = manifest["bots"]
    assert set(bot["scopes"]) == {"personal", "team"}
    titles = [c["title"] for c in bot["commandLists"][0]["commands"]]
    handler = (REPO / "adapters/teams/handler.py").read_text(encoding="utf-8")
    for title in titles:
        word = title.split()[-1]
        assert word == "escalate" or f'"{word}"' in handler, f"the bot does not handle {title!r}"


def test_icons_are_the_sizes_teams_requires():
    assert png_size((TEAMS / "color.png").read_bytes()) == (192, 192)
    assert png_size((TEAMS / "outline.png").read_bytes()) == (32, 32)


def test_the_package_has_the_three_files_at_its_root(tmp_path):
    out = tmp_path / "app.zip"
    env = {"PATH": "", "MicrosoftAppId": "11111111-2222-3333-4444-555555555555"}
    result = subprocess.run(
        [sys.executable, "-m", "adapters.teams.package", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Teams app package" in result.stdout
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert png_size(package.read("color.png")) == (192, 192)
    assert manifest["bots"][0]["botId"] == "11111111-2222-3333-4444-555555555555"
    assert manifest["webApplicationInfo"]["id"] == "11111111-2222-3333-4444-555555555555"
    # Replies in a channel thread reach the bot without an @mention only with this consent.
    assert {"name": "ChannelMessage.Read.Group", "type": "Application"} in (
        manifest["authorization"]["permissions"]["resourceSpecific"]
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", manifest["id"])


def test_make_teams_package_builds_the_zip():
    (REPO / "build/escalation-bot-teams.zip").unlink(missing_ok=True)  # never pass on a stale zip
    env = {**os.environ, "MicrosoftAppId": BOT_ID}
    result = subprocess.run(
        ["make", "-s", "teams-package"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(REPO / "build/escalation-bot-teams.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]


# -- built from the settings ---------------------------------------------------------------------


@pytest.fixture
def package(tmp_path, monkeypatch, capsys):
    """Run `python -m adapters.teams.package` in-process with exactly these variables set."""
    from adapters.teams.package import main
    from bot.settings import ENVIRONMENT

    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    out = tmp_path / "app.zip"

    def run(**env: str) -> tuple[int, dict | None, str]:
        out.unlink(missing_ok=True)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        code = main([str(out)])
        err = capsys.readouterr().err
        if not out.exists():
            return code, None, err
        with zipfile.ZipFile(out) as zipped:
            return code, json.loads(zipped.read("manifest.json")), err

    return run


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "MicrosoftAppId is needed: the bot's Microsoft App ID, a GUID"),
        ({"MicrosoftAppId": "escalation-bot"}, "MicrosoftAppId must be the bot's Microsoft App ID, a GUID"),
        ({"MicrosoftAppId": "00000000-0000-0000-0000-000000000000"}, "MicrosoftAppId must be"),
        ({"MicrosoftAppId": BOT_ID, "TEAMS_MANIFEST_ID": "app-1"}, "TEAMS_MANIFEST_ID must be a GUID"),
        ({"MicrosoftAppId": BOT_ID, "TEAMS_TERMS_URL": "terms.html"}, "TEAMS_TERMS_URL must be an https URL"),
    ],
)
def test_a_missing_or_malformed_id_builds_no_package(package, env, expected):
    code, manifest, err = package(**env)
    assert (code, manifest) == (2, None)
    (line,) = err.splitlines()
    assert line.startswith("teams-package: error: ") and expected in line


def test_each_bot_gets_its_own_app_id_the_same_at_every_build(package):
    _, first, _ = package(MicrosoftAppId=BOT_ID)
    _, again, _ = package(MicrosoftAppId=BOT_ID.upper())
    _, other, _ = package(MicrosoftAppId=OTHER_BOT_ID)
    assert first["id"] == again["id"]  # a rebuilt package updates the app in Teams
    assert other["id"] != first["id"]  # two partnerships can both upload theirs into one tenant
    shipped = json.loads((TEAMS / "manifest.json").read_text(encoding="utf-8"))["id"]
    assert shipped not in {first["id"], other["id"]}
    assert first["bots"][0]["botId"] == BOT_ID
    _, given, _ = package(MicrosoftAppId=BOT_ID, TEAMS_MANIFEST_ID="ABCDEF01-2345-4678-9ABC-DEF012345678")
    assert given["id"] == "abcdef01-2345-4678-9abc-def012345678"


def test_the_partnerships_addresses_replace_the_placeholders_and_any_left_are_named(package):
    code, manifest, err = package(MicrosoftAppId=BOT_ID)
    assert code == 0
    warnings = err.splitlines()
    assert len(warnings) == 3 and all(w.startswith("teams-package: warning: ") for w in warnings)
    for variable in ("TEAMS_WEBSITE_URL", "TEAMS_PRIVACY_URL", "TEAMS_TERMS_URL"):
        assert any(f"set {variable} to the partnership's" in w for w in warnings), variable
    code, manifest, err = package(
        MicrosoftAppId=BOT_ID,
        PUBLIC_URL="https://bot.partnership.org.uk",
        TEAMS_PRIVACY_URL="https://partnership.org.uk/bot/privacy",
        TEAMS_TERMS_URL="https://partnership.org.uk/bot/terms",
    )
    assert (code, err) == (0, "")
    assert manifest["developer"]["websiteUrl"] == "https://bot.partnership.org.uk"
    assert manifest["developer"]["privacyUrl"] == "https://partnership.org.uk/bot/privacy"
    assert manifest["developer"]["termsOfUseUrl"] == "https://partnership.org.uk/bot/terms"
