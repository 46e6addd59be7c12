"""The serving API on PostgreSQL: a real uvicorn over a database set up by the roles command,
loaded with the hand-made raw rows and built by dbt as bi_writer. Each client token reads its
own rows (expected rows read by the superuser, who bypasses row-level security), and the
client-scoped reads run as bi_client with app.client_id set, so row-level security holds
underneath the service's SQL filter: the same query without any filter returns the client's
rows only."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from dagster_project.serving import tokens
from dagster_project.serving.queries import REVENUE
from dagster_project.serving.reader import Reader
from dagster_project.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg(pg_server, tmp_path_factory, dbt_helpers, serving_helpers):
    db = f"serving_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{db}"')
    roles = subprocess.run([sys.executable, "-m", "dagster_project.postgres.roles", "--dsn",
                            pg_server.conninfo(db)], cwd=ROOT, capture_output=True, text=True,
                           timeout=120, check=False)
    assert roles.returncode == 0, roles.stdout + roles.stderr
    dbt_helpers.build_tiny_postgres(pg_server.conninfo(db, user="bi_writer"))
    tmp = tmp_path_factory.mktemp("serving_pg")
    env = pg_server.warehouse_env(db, user="bi_writer")
    build = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--select", "+path:models/reporting",
         "--exclude", "test_type:data", "--project-dir", str(ROOT / "dbt"), "--profiles-dir",
         str(ROOT / "dbt"), "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=600,
        check=False)
    assert build.returncode == 0, build.stdout[-4000:]
    writer = Warehouse(backend="postgres", postgres_dsn=pg_server.conninfo(db, user="bi_writer"))
    toks = {c: tokens.issue(writer, f"pg-{c}", "client", c, 1, "test")[0] for c in ("c1", "c2")}
    server = serving_helpers.Server(tmp / "unused.duckdb", warehouse_env=env)
    try:
        yield {"server": server, "toks": toks, "admin_dsn": pg_server.conninfo(db),
               "client_dsn": pg_server.conninfo(db, user="bi_client"), "writer": writer}
    finally:
        server.stop()
        with psycopg.connect(pg_server.conninfo(), autocommit=True) as con:
            con.execute(f'drop database if exists "{db}" with (force)')


def superuser_rows(pg, client):
    with psycopg.connect(pg["admin_dsn"]) as con:
        return con.execute("select revenue_date, revenue from reporting.rpt_client_revenue_daily"
                           " where client_id = %s order by revenue_date", [client]).fetchall()


def test_each_client_token_reads_its_own_revenue_rows_on_postgres(pg):
    for client in ("c1", "c2"):
        r = httpx.post(pg["server"].url + "/api/v1/bi/revenue-tracking", timeout=30,
                       json={"timeframe": {"start_date": "2024-01-01", "end_date": "2024-12-31"}},
                       headers={"Authorization": f"Bearer {pg['toks'][client]}"})
        assert r.status_code == 200, pg["server"].log()
        got = [(dt.date.fromisoformat(d["revenue_date"]), d["revenue"]) for d in r.json()["daily"]]
        assert got == superuser_rows(pg, client) and got


def test_client_reads_run_as_bi_client_with_app_client_id_so_row_security_holds(pg):
    client_wh = Warehouse(backend="postgres", postgres_dsn=make_conninfo(pg["client_dsn"]))
    reader = Reader(pg["writer"], client_wh, timeout_s=10)
    sql = (f"select distinct client_id, current_user as role_name,"
           f" current_setting('app.client_id') as setting from {REVENUE}")
    unfiltered = (sql, (), (REVENUE,))
    (frame,) = asyncio.run(reader.read([unfiltered], "c1", rls=True))
    assert frame.rows() == [("c1", "bi_client", "c1")]
    with psycopg.connect(pg["admin_dsn"]) as con:  # the table does hold other clients' rows
        assert con.execute(f"select count(distinct client_id) from {REVENUE}").fetchone()[0] >= 2
    (none,) = asyncio.run(reader.read([unfiltered], "", rls=True))
    assert none.is_empty()  # an empty app.client_id: no rows at all
