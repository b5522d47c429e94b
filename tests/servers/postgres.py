"""A throwaway PostgreSQL cluster for the tests, from the machine's own server binaries.

`TEST_POSTGRES_URL` names a server to use instead (an empty database the tests may fill). Without
it, a private cluster is made with `initdb` in a temporary folder and started on a free loopback
port; as root (CI's containers), the cluster runs as the `postgres` user that Debian's package
creates, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HOW_TO = (
    "PostgreSQL tests skipped: no PostgreSQL server programs (initdb) here. Install Debian's "
    "`postgresql` package, or set TEST_POSTGRES_URL=postgresql://user@host/empty_db, to run them."
)


# Why this run skipped the PostgreSQL half, for the one line at the end of the run.
SKIPPED: list[str] = []
# Every table the schema makes, emptied before each test rather than made again.
_DATABASE = "escalation_contract"


def empty_database(server_url: str) -> str:
    """The contract tests' database on `server_url`, at the latest schema and with no rows."""
    import psycopg

    from bot.storage import Storage

    base, _, _ = server_url.rpartition("/")
    url = f"{base}/{_DATABASE}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_DATABASE]).fetchone():
            conn.execute(f"CREATE DATABASE {_DATABASE}")
    Storage.open(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename != 'schema_version'"
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return url


def server_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, if PostgreSQL's server programs are installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A running private cluster; `url(db)` names one of its databases."""

    folder: Path
    port: int
    bin: Path
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str) -> None:
        subprocess.run(_as_owner([str(self.bin / args[0]), *args[1:]]), check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(
            _as_owner([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def start_cluster() -> Cluster:
    """initdb and start a cluster on a free port (trust auth on loopback only); raise if impossible."""
    bin_folder = server_bin()
    if bin_folder is None:
        raise FileNotFoundError(HOW_TO)
    folder = Path(tempfile.mkdtemp(prefix="escalation-pg-"))
    user = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() != 0 else "postgres"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    port = _free_port()
    data = folder / "data"
    subprocess.run(
        _as_owner(
            [
                str(bin_folder / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                user,
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_owner(
            [
                str(bin_folder / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "log"),
                "-o",
                options,
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    return Cluster(folder, port, bin_folder, user)
