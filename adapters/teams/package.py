"""Build the Teams app package: manifest.json, color.png and outline.png at the root of a zip.

`python -m adapters.teams.package OUT.zip` (or `make teams-package`). The bot id is MicrosoftAppId,
which it must be given; the app's own id and the partnership's addresses come from the settings
(TEAMS_MANIFEST_ID, TEAMS_WEBSITE_URL, TEAMS_PRIVACY_URL, TEAMS_TERMS_URL), and anything still a
placeholder is named when the package is built.
"""

from __future__ import annotations

import json
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from adapters.settings_checks import GUID
from bot.settings import Settings, SettingsError

SOURCE = Path(__file__).resolve().parents[2] / "manifest" / "teams"
FILES = ("manifest.json", "color.png", "outline.png")
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
# The id the manifest ships with: every deployment's own id is derived from it and its bot id.
SHIPPED_ID = uuid.UUID("6f0b3c2e-8d4a-4b7e-9c1f-2a5d7e9b1c30")
EXAMPLE_HOST = "example.org"
ADDRESSES = (  # manifest field, the setting that fills it, what it should be
    ("websiteUrl", "TEAMS_WEBSITE_URL", "the partnership's web page about the bot"),
    ("privacyUrl", "TEAMS_PRIVACY_URL", "the partnership's privacy notice for the bot"),
    ("termsOfUseUrl", "TEAMS_TERMS_URL", "the partnership's terms of use for the bot"),
)


class PackageError(ValueError):
    """The package cannot be built as asked; the message names the setting to fix."""


@dataclass(frozen=True)
class PackageSettings:
    bot_id: str
    manifest_id: str
    addresses: dict[str, str]  # manifest field -> the partnership's own address


def manifest_id_for(bot_id: str) -> str:
    """The app's id when none is given: the same for every build from one bot (so a new version
    replaces the app in Teams rather than adding a second), and different for every other bot
    (so two partnerships can both upload theirs into one tenant). Nothing needs storing."""
    return str(uuid.uuid5(SHIPPED_ID, bot_id.strip().lower()))


def package_settings(settings: Settings) -> PackageSettings:
    """What the package needs from the settings, refusing a missing or malformed id."""
    bot_id = (settings.teams_app_id or "").strip()
    if not bot_id:
        raise PackageError(
            "MicrosoftAppId is needed: the bot's Microsoft App ID, a GUID (Azure Bot resource → "
            "Configuration); the package cannot work without it"
        )
    if not GUID.fullmatch(bot_id) or bot_id == PLACEHOLDER:
        raise PackageError(
            "MicrosoftAppId must be the bot's Microsoft App ID, a GUID such as "
            "123e4567-e89b-12d3-a456-426614174000 (Azure Bot resource → Configuration)"
        )
    manifest_id = (settings.teams_manifest_id or "").strip() or manifest_id_for(bot_id)
    if not GUID.fullmatch(manifest_id):
        raise PackageError(
            "TEAMS_MANIFEST_ID must be a GUID: the app's id in Teams (leave it unset to derive one "
            "from MicrosoftAppId)"
        )
    given = {
        "websiteUrl": settings.teams_website_url
        or (settings.public_url if (settings.public_url or "").startswith("https://") else None),
        "privacyUrl": settings.teams_privacy_url,
        "termsOfUseUrl": settings.teams_terms_url,
    }
    return PackageSettings(bot_id.lower(), manifest_id.lower(), {k: v for k, v in given.items() if v})


def build(out: Path, config: PackageSettings, *, source: Path = SOURCE) -> list[str]:
    """Write the package to `out`; returns a line for each thing still a placeholder."""
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    manifest["id"] = config.manifest_id
    for bot in manifest.get("bots", []):
        bot["botId"] = config.bot_id
    # Reading replies in channel threads without an @mention needs this resource-specific
    # consent, which Teams ties to the bot's own app id.
    if "webApplicationInfo" in manifest:
        manifest["webApplicationInfo"]["id"] = config.bot_id
    developer = manifest.setdefault("developer", {})
    developer.update(config.addresses)
    placeholders = [
        f"developer.{field} is still a placeholder ({developer.get(field)}): set {variable} to {what}"
        for field, variable, what in ADDRESSES
        if EXAMPLE_HOST in str(developer.get(field, EXAMPLE_HOST))
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name in FILES[1:]:
            package.write(source / name, arcname=name)
    return placeholders


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("build/escalation-bot-teams.zip")
    try:
        config = package_settings(Settings.from_env())
    except (PackageError, SettingsError) as exc:
        print(f"teams-package: error: {exc}", file=sys.stderr)
        return 2
    placeholders = build(out, config)
    print(f"Teams app package: {out} (bot id {config.bot_id}, app id {config.manifest_id})")
    for line in placeholders:
        print(f"teams-package: warning: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
