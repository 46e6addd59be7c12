"""A throwaway local PostgreSQL 15 server in a folder of its own, on 127.0.0.1.

    python -m dagster_project.devtools.pgserver up [--dir .pg] [--port 55432]
    python -m dagster_project.devtools.pgserver down [--dir .pg]

Used by ``make pg-up``/``make pg-down`` and by the test suite's session fixture. PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` system user; its folder
must then be one that user can enter (not under root's private temp folders).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("BI_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"


@dataclass(frozen=True)
class PgServer:
    folder: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname={dbname}"

    def warehouse_env(self, dbname: str, user: str = SUPERUSER) -> dict[str, str]:
        """The environment variables that select this server's ``dbname`` as the warehouse."""
        return {
            "BI_WAREHOUSE": "postgres",
            "DBT_TARGET": "postgres",
            "BI_PG_HOST": "127.0.0.1",
            "BI_PG_PORT": str(self.port),
            "BI_PG_USER": user,
            "BI_PG_PASSWORD": "",
            "BI_PG_DB": dbname,
        }


def binaries_available() -> bool:
    return (PG_BIN / "initdb").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(args: list[str]) -> None:
    proc = subprocess.run(_as_server_user() + args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed: {proc.stderr.strip() or proc.stdout.strip()}")


def start(folder: Path, port: int | None = None, databases: tuple[str, ...] = ("bi",)) -> PgServer:
    """Initialise (first time only) and start a server in ``folder``; create ``databases``."""
    if not binaries_available():
        raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)")
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    server = PgServer(folder, port or free_port())
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    if not (server.data_dir / "PG_VERSION").exists():
        _run([str(PG_BIN / "initdb"), "-D", str(server.data_dir), "-U", SUPERUSER, "-A", "trust",
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
    options = (
        f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    if not is_running(folder):  # `up` twice is fine
        _run([str(PG_BIN / "pg_ctl"), "-D", str(server.data_dir), "-l", str(folder / "server.log"),
              "-w", "-o", options, "start"])
    (folder / "port").write_text(str(server.port))
    import psycopg

    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        existing = {r[0] for r in con.execute("select datname from pg_database").fetchall()}
        for db in databases:
            if db not in existing:
                con.execute(f'create database "{db}"')
    return server


def is_running(folder: Path) -> bool:
    """Whether the server whose data is in ``folder/data`` is running (``pg_ctl status``)."""
    data = folder.resolve() / "data"
    if not (data / "PG_VERSION").exists():
        return False
    status = subprocess.run(_as_server_user() + [str(PG_BIN / "pg_ctl"), "-D", str(data), "status"],
                            capture_output=True, check=False)
    return status.returncode == 0


def stop(folder: Path, remove: bool = False) -> None:
    """Stop the server in ``folder`` (if running); delete the folder when ``remove``."""
    data = folder.resolve() / "data"
    if (data / "postmaster.pid").exists():
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    if remove:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="throwaway local PostgreSQL")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=Path(".pg"))
    parser.add_argument("--port", type=int, default=55432)
    parser.add_argument("--db", action="append", help="database to create (repeatable; default bi)")
    args = parser.parse_args(argv)
    if args.action == "up":
        server = start(args.dir, args.port, tuple(args.db or ["bi"]))
        print(f"PostgreSQL on 127.0.0.1:{server.port} (data in {server.data_dir}); "
              f"connect: psql \"{server.conninfo('bi')}\"")
    else:
        stop(args.dir)
        print(f"stopped the server in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
