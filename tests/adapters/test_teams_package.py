"""The Teams app package: a manifest valid against the schema it declares, icons of the right size."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import zipfile

import jsonschema

from support import REPO

TEAMS = REPO / "manifest" / "teams"


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
    result = subprocess.run(["make", "-s", "teams-package"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(REPO / "build/escalation-bot-teams.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
