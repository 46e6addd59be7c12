"""Helpers of the serving tests: a tiny reporting warehouse, tokens, a real uvicorn process.

The warehouse: tests/dbt_helpers.py's hand-made raw rows, dbt's reporting models and
everything upstream built on them (about 10 s), plus stand-in rows for the analytics tables the
API reads (what the Python assets would write; as tests/integration/test_pg_roles.py does), for
clients c1 and c2 and the platform.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[1]
DBT_SELECT = ["+path:models/reporting"]

STAND_IN_ANALYTICS = [
    """create table analytics.content_generation_performance as
       select * from (values ('c1', 10, 9, 0.9, 'healthy'), ('c2', 4, 1, 0.25, 'critical'),
                             (null, 14, 10, 0.714, 'warning'))
       as t(client_id, jobs, succeeded, success_rate, health)""",
    """create table analytics.performance_status as
       select * from (values ('overall', 'overall', 'warning', 'content_ai'),
                             ('slo', 'content_ai', 'warning', 'burn_3d 2.1'))
       as t(component_type, component, health, reason)""",
    """create table analytics.performance_slo_burn as
       select * from (values ('content_ai', timestamp '2024-01-31 22:00', 0.5),
                             ('content_ai', timestamp '2024-01-31 23:00', 2.5),
                             ('publishing', timestamp '2024-01-31 23:00', 0.1))
       as t(service, hour_at, burn_1h)""",
    """create table analytics.experiments as
       select * from (values ('exp-c1', 'c1'), ('exp-c2', 'c2'), ('exp-platform', null))
       as t(experiment_id, client_id)""",
    """create table analytics.experiment_results as
       select * from (values ('exp-c1', 'conversion', 'treatment', 0.04, 'ok'),
                             ('exp-c2', 'conversion', 'treatment', -0.02, 'ok'),
                             ('exp-platform', 'signups', 'treatment', 0.1, 'ok'))
       as t(experiment_id, metric, variant, rel_lift, status)""",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_serving_warehouse(folder: Path, dbt_helpers) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = dbt_helpers.build_tiny_warehouse(folder / "w.duckdb")
    run = subprocess.run(
        [str(ROOT / ".venv/bin/dbt"), "build", "--project-dir", str(ROOT / "dbt"),
         "--profiles-dir", str(ROOT / "dbt"), "--target-path", str(folder / "target"),
         "--log-path", str(folder / "logs"), "--select", *DBT_SELECT,
         "--exclude", "test_type:data"],
        env={**os.environ, "DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(db)},
        capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists analytics")
        for sql in STAND_IN_ANALYTICS:
            con.execute(sql)
    return db


def query(db: Path, sql: str, params=None) -> list[tuple]:
    """Read the warehouse as the test's own oracle (a short read-only session, whose open waits
    while the service holds the file for a write)."""
    from dagster_project.warehouse import Warehouse

    with Warehouse(duckdb_path=str(db), read_only=True).session() as s:
        return s.read(sql, params).rows()


class Server:
    """``python -m dagster_project.serving`` (what ``make serve`` runs) on a free port."""

    def __init__(self, db: Path, warehouse_env: dict | None = None, **serving_env: str):
        """Over the DuckDB file ``db``, or the warehouse ``warehouse_env`` (``BI_*``) names
        (then ``db`` only says where the log goes)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/bi-dashboard"
        env = {**os.environ, "BI_WAREHOUSE": "duckdb", "BI_DUCKDB_PATH": str(db),
               **(warehouse_env or {}),
               "BI_SERVING_HOST": "127.0.0.1", "BI_SERVING_PORT": str(self.port),
               "BI_SERVING_POLL_INTERVAL_S": "0.2",
               **{f"BI_SERVING_{k.upper()}": str(v) for k, v in serving_env.items()}}
        self._log = db.parent / f"serving-{self.port}.log"
        with open(self._log, "wb") as log:  # a file, not a pipe nobody drains
            self.proc = subprocess.Popen([sys.executable, "-m", "dagster_project.serving"],
                                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                         stderr=log, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("the serving API did not answer within 60 s")

    def log(self) -> str:
        """The end of the server's log (uvicorn's errors and tracebacks)."""
        return self._log.read_text()[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
