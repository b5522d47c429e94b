"""One typed settings object, built at start-up from the environment; explicit arguments win."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from bot.storage import DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    policies_dir: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read DATABASE_URL and POLICIES_DIR; keyword overrides (not None) take precedence."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if env.get("DATABASE_URL"):
            values["database_url"] = env["DATABASE_URL"]
        if env.get("POLICIES_DIR"):
            values["policies_dir"] = Path(env["POLICIES_DIR"])
        known = {f.name for f in fields(cls)}
        values.update({k: v for k, v in overrides.items() if k in known and v is not None})
        return cls(**values)  # type: ignore[arg-type]
