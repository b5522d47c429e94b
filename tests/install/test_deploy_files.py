"""The deployment files, checked by the tools that read them: hadolint on the Dockerfile, Docker
Compose on compose.yaml, systemd-analyze on the service unit, Caddy on the Caddyfile.

No Docker daemon or registry is needed (nor reachable here), so the image itself is not built; the
wheel it installs is (conftest.py), and the image's health check runs against it
(test_installed_wheel.py). systemd-analyze and Caddy are Debian packages (.ci/run installs them):
skipped where absent, never under CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from support import REPO

SCRIPTS = Path(sysconfig.get_path("scripts"))
UNIT = REPO / "deploy" / "escalation-bot.service"
# systemd-analyze security's scale: 0.0 is fully locked down, 10.0 is nothing done, under 2 is "OK".
# Its --threshold takes tenths.
MOST_EXPOSURE = 2.0


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed (Debian package; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run this check, never skip it")
        pytest.skip(message)
    return found


def _run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _final_stage(dockerfile: str) -> list[str]:
    """The runtime stage's instructions, one per line, continuations joined."""
    lines = dockerfile.replace("\\\n", " ").splitlines()
    instructions = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    last_from = max(i for i, line in enumerate(instructions) if line.startswith("FROM "))
    return instructions[last_from:]


def test_the_dockerfile_passes_hadolint():
    done = _run(str(SCRIPTS / "hadolint"), "--no-color", "Dockerfile")
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


def test_the_image_is_slim_runs_as_a_user_checks_its_health_and_keeps_its_database_on_a_volume():
    stage = _final_stage((REPO / "Dockerfile").read_text(encoding="utf-8"))
    assert re.fullmatch(r"FROM python:3\.1\d-slim(-\w+)?", stage[0])
    (user,) = [line.split()[1] for line in stage if line.startswith("USER ")]
    assert user.split(":")[0] not in ("0", "root")
    (health,) = [line for line in stage if line.startswith("HEALTHCHECK ")]
    assert "/healthz" in health
    (volume,) = [json.loads(line.split(" ", 1)[1]) for line in stage if line.startswith("VOLUME ")]
    (database,) = re.findall(r"DATABASE_URL=sqlite:///(\S+)", " ".join(stage))
    assert Path(database).parent.as_posix() in volume
    assert stage[-2:] == ['ENTRYPOINT ["escalation-bot"]', 'CMD ["serve"]']


def _compose_config(tmp_path: Path, *args: str, env: str = "") -> dict:
    # compose.yaml reads .env beside it: an empty one stands in for the admin's.
    for name in ("compose.yaml", "compose.postgres.yaml", "Dockerfile", "deploy/Caddyfile"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / ".env").write_text(env, encoding="utf-8")
    done = _run(str(SCRIPTS / "docker-compose"), *args, "config", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_compose_runs_the_bot_on_a_volume_behind_loopback_and_caddy_on_request(tmp_path):
    config = _compose_config(tmp_path)
    assert set(config["services"]) == {"bot"}
    bot = config["services"]["bot"]
    (volume,) = bot["volumes"]
    assert (volume["type"], volume["source"], volume["target"]) == ("volume", "data", "/data")
    assert bot["environment"]["DATABASE_URL"] == "sqlite:////data/escalations.db"
    (port,) = bot["ports"]
    assert (port["host_ip"], port["target"]) == ("127.0.0.1", 3978)
    assert bot["read_only"] is True and bot["cap_drop"] == ["ALL"]

    with_https = _compose_config(tmp_path, "--profile", "https")
    caddy = with_https["services"]["caddy"]
    assert caddy["environment"]["UPSTREAM"] == "bot:3978"
    assert {"/etc/caddy/Caddyfile", "/data"} <= {v["target"] for v in caddy["volumes"]}


def test_compose_over_postgresql_waits_for_the_database_and_needs_its_password(tmp_path):
    files = ("-f", "compose.yaml", "-f", "compose.postgres.yaml")
    config = _compose_config(tmp_path, *files, env="POSTGRES_PASSWORD=pw-from-env\n")
    assert set(config["services"]) == {"bot", "db"}
    bot, db = config["services"]["bot"], config["services"]["db"]
    assert bot["environment"]["DATABASE_URL"] == (
        "postgresql://escalation_bot:pw-from-env@db:5432/escalation_bot"
    )
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert {v["target"] for v in db["volumes"]} == {"/var/lib/postgresql/data"}
    (tmp_path / ".env").write_text("", encoding="utf-8")
    done = _run(str(SCRIPTS / "docker-compose"), *files, "config", cwd=tmp_path)
    assert done.returncode != 0 and "POSTGRES_PASSWORD" in done.stderr


def test_the_systemd_unit_verifies_with_the_installed_program_and_is_hardened(installed, tmp_path):
    analyze = _tool("systemd-analyze")
    # The unit names /opt/escalation-bot; verify checks that ExecStart exists, so point it at the
    # program the wheel installed.
    unit = tmp_path / UNIT.name
    text = UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/opt/escalation-bot/bin/escalation-bot serve\n" in text
    unit.write_text(text.replace("/opt/escalation-bot", str(installed.venv)), encoding="utf-8")
    verified = _run(analyze, "verify", str(unit))
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")
    threshold = f"--threshold={round(MOST_EXPOSURE * 10)}"
    security = _run(analyze, "security", "--offline=true", threshold, "--no-pager", str(unit))
    assert security.returncode == 0, security.stdout[-2000:] + security.stderr
    (overall,) = re.findall(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert float(overall) < MOST_EXPOSURE


def test_the_caddyfile_proxies_to_the_bot_and_keeps_metrics_private():
    caddy = _tool("caddy")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    for upstream, dial in ((None, "127.0.0.1:3978"), ("bot:3978", "bot:3978")):
        given = {"SITE_ADDRESS": "bot.example.org"} | ({"UPSTREAM": upstream} if upstream else {})
        done = _run(caddy, "adapt", "--validate", "--config", "deploy/Caddyfile", env=env | given)
        assert done.returncode == 0, done.stderr
        config = json.dumps(json.loads(done.stdout))
        assert '"host": ["bot.example.org"]' in config
        assert f'"dial": "{dial}"' in config
        assert re.search(
            r'"static_response", "status_code": 404}\], "match": \[\{"path": \["/metrics"\]', config
        )
