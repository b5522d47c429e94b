"""The program as an IT admin installs it: the wheel (tests/install/conftest.py) installed into a
fresh virtual environment, and run from a folder that is not the source tree."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from support import REPO

PACKAGES = ("bot", "adapters", "policies")
POLICY_IDS = ("cambridgeshire-peterborough", "camden", "enfield", "kingston-richmond", "redbridge")


def test_the_wheel_holds_every_package_and_data_file_of_the_tree(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    tree = {
        path.relative_to(REPO).as_posix()
        for package in PACKAGES
        for path in (REPO / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert sorted(tree - names) == []
    assert "adapters/examples/directory.csv" in names
    assert {"policies/schema.json", "policies/camden.yaml", "policies/sources/camden.txt"} <= names


def test_the_installed_program_runs_from_the_venv_not_the_source_tree(installed):
    where = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import json, adapters.slack, adapters.teams, bot, policies;"
            "print(json.dumps([m.__file__ for m in (adapters.slack, adapters.teams, bot, policies)]))",
        ],
        cwd=installed.elsewhere,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for file in json.loads(where.stdout):
        assert Path(file).is_relative_to(installed.venv), file


def test_the_installed_demo_plays_its_walkthrough(installed):
    done = installed.run("demo", "--auto")
    assert done.returncode == 0, done.stderr
    # The example directory's people, from the package data.
    assert "You raised E-0001 with Sam Patel" in done.stdout
    assert "End of demo." in done.stdout


def test_the_installed_policies_list_shows_every_bundled_policy(installed):
    done = installed.run("policies", "list")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == list(POLICY_IDS)
    shown = installed.run("policies", "show", "camden")
    assert shown.returncode == 0, shown.stderr
    assert "Camden Safeguarding Children Partnership" in shown.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def _image_health_check() -> list[str]:
    """The Dockerfile's HEALTHCHECK command (its JSON form)."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith("HEALTHCHECK ")]
    return json.loads(line.split(" CMD ", 1)[1])


def test_the_installed_server_answers_its_health_check_and_the_images(installed):
    port = _free_port()
    env = installed.env(PORT=str(port))
    program, *args = _image_health_check()
    image_check = [str(installed.venv / "bin" / program), *args]
    server = subprocess.Popen(
        [str(installed.venv / "bin" / "escalation-bot"), "serve"],
        cwd=installed.elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(200):
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.communicate()[0]
                time.sleep(0.1)
        else:
            raise AssertionError("the installed server did not start")
        healthy = subprocess.run(image_check, env=env, capture_output=True, timeout=30, check=False)
    finally:
        server.terminate()
        logs, _ = server.communicate(timeout=30)
    assert (status, body["ok"]) == (200, True), logs
    # It created its database where DATABASE_URL said, in the admin's folder.
    assert (installed.elsewhere / "escalations.db").exists()
    # The container's health check passes while the server answers, and fails once it has stopped.
    assert healthy.returncode == 0, healthy.stderr
    assert subprocess.run(image_check, env=env, capture_output=True, timeout=30, check=False).returncode != 0
