"""Build the Teams app package: manifest.json, color.png and outline.png at the root of a zip.

`python -m adapters.teams.package OUT.zip` (or `make teams-package`). With MicrosoftAppId set, the
manifest's bot id is filled in with it, so the package is ready to upload.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "manifest" / "teams"
FILES = ("manifest.json", "color.png", "outline.png")
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def build(out: Path, *, app_id: str | None = None, source: Path = SOURCE) -> Path:
    """Write the package to `out`; the bot id becomes `app_id` when given."""
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    if app_id:
        for bot in manifest.get("bots", []):
            if bot.get("botId") == PLACEHOLDER:
                bot["botId"] = app_id
        # Reading replies in channel threads without an @mention needs this resource-specific
        # consent, which Teams ties to the bot's own app id.
        info = manifest.get("webApplicationInfo") or {}
        if info.get("id") == PLACEHOLDER:
            info["id"] = app_id
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name in FILES[1:]:
            package.write(source / name, arcname=name)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("build/escalation-bot-teams.zip")
    app_id = os.environ.get("MicrosoftAppId") or None  # noqa: SIM112 (the Bot Framework's own name)
    build(out, app_id=app_id)
    note = "" if app_id else " (bot id is a placeholder: set MicrosoftAppId to fill it in)"
    print(f"Teams app package: {out}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
