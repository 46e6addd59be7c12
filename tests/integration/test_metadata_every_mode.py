"""dbt models show row counts and column schemas in every mode: ``make run-postgres`` and a
DuckDB file that is not the one ``make prepare`` parsed the manifest with.

Each test runs what the make target runs, ``python -m dagster_project.pipeline`` with
``nightly_refresh``, as a process of its own on tiny data. PostgreSQL: on the session's
throwaway server, a warehouse database set up by the roles command (``make pg-roles``) and
loaded as ``bi_writer``, and a Dagster instance in a second database from
``dagster.postgres.yaml.example`` (``make run-postgres``' environment; steps in parallel
processes). DuckDB: the warehouse in a file named unlike ``warehouse.duckdb`` (so dbt-duckdb's
database name differs from the parsed manifest's), the instance from ``dagster.yaml.example``.
The expected columns and row counts are read from the warehouse's own catalog by the test,
not through the code under test; the run must log no warning or error and print no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest

from dagster_project.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

CATALOG = (
    "select c.table_schema, c.table_name, c.column_name, t.table_type "
    "from information_schema.columns c join information_schema.tables t "
    "on t.table_schema = c.table_schema and t.table_name = c.table_name "
    "where c.table_schema in ('staging', 'intermediate', 'marts', 'reporting') "
    "order by c.table_schema, c.table_name, c.ordinal_position"
)


def catalog(rows) -> dict[str, tuple[list[str], bool]]:
    """``schema.name`` -> (its columns in order, whether it is a view)."""
    out: dict[str, tuple[list[str], bool]] = {}
    for schema, name, column, kind in rows:
        out.setdefault(f"{schema}.{name}", ([], kind == "VIEW"))[0].append(column)
    return out


def run_pipeline(env: dict[str, str], log: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "dagster_project.pipeline", "--scale", "tiny", "--job",
         "nightly_refresh"], cwd=PROJECT_ROOT, env=env, stdout=log.open("w"),
        stderr=subprocess.STDOUT, timeout=1200, check=False)
    printed = log.read_text()
    assert proc.returncode == 0, printed[-4000:]
    return printed


# What the definitions load in the run's environment: the manifest's adapter and each dbt
# model's table name as its asset definition states it.
LOADED = """
import json
from dagster_project.definitions import defs
from dagster_project.defs.dbt.project import dbt_project
adapter = json.loads(dbt_project.manifest_path.read_text())["metadata"]["adapter_type"]
tables = {s.key.to_user_string(): s.metadata.get("dagster/table_name")
          for s in defs().resolve_all_asset_specs() if "dbt" in s.kinds}
print(json.dumps({"adapter": adapter, "tables": tables}))
"""


def loaded_definitions(env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", LOADED], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def dbt_materializations(instance: dg.DagsterInstance) -> tuple[dg.DagsterRun, dict[str, dict]]:
    """The run and asset key -> metadata of each dbt model it materialized."""
    run = instance.get_runs(limit=1)[0]
    records = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    found = {}
    for record in records:
        metadata = record.asset_materialization.metadata
        if "unique_id" in metadata:  # dbt models (Python assets carry no dbt unique_id)
            found[record.asset_key.to_user_string()] = metadata
    return run, found


def assert_metadata_matches_the_catalog(instance, expected, counts, printed, loaded):
    run, found = dbt_materializations(instance)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert len(found) >= 45
    for key, metadata in found.items():
        table = metadata["dagster/table_name"].value
        assert loaded["tables"][key] == table, key  # the definition names the table the run built
        columns, is_view = expected[table]
        assert [c.name for c in metadata["dagster/column_schema"].schema.columns] == columns, table
        if is_view:
            assert "dagster/row_count" not in metadata, table
        else:
            assert metadata["dagster/row_count"].value == counts[table], table
    loud = [e.user_message[:300] for e in instance.all_logs(run.run_id)
            if e.level >= 30]  # logging.WARNING
    assert loud == []
    assert "Traceback" not in printed and "WARNING" not in printed


@pytest.mark.postgres
def test_make_run_postgres_shows_row_counts_and_columns(tmp_path, pg_server, production_env):
    warehouse_db = production_env
    printed = run_pipeline(dict(os.environ), tmp_path / "pipeline.log")
    loaded = loaded_definitions(dict(os.environ))
    assert loaded["adapter"] == "postgres"

    with psycopg.connect(pg_server.conninfo(warehouse_db)) as con:
        expected = catalog(con.execute(CATALOG).fetchall())
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                  for t, (_, is_view) in expected.items() if not is_view}
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert_metadata_matches_the_catalog(instance, expected, counts, printed, loaded)


def test_a_duckdb_file_of_another_name_shows_row_counts_and_columns(
        tmp_path, pipeline_env, monkeypatch):
    elsewhere = tmp_path / "elsewhere" / "analytics_copy.duckdb"
    elsewhere.parent.mkdir()
    monkeypatch.setenv("BI_DUCKDB_PATH", str(elsewhere))
    (pipeline_env.dagster_home / "dagster.yaml").write_text(
        (PROJECT_ROOT / "dagster.yaml.example").read_text())
    printed = run_pipeline(dict(os.environ), tmp_path / "pipeline.log")
    loaded = loaded_definitions(dict(os.environ))
    assert loaded["adapter"] == "duckdb"

    assert not pipeline_env.duckdb_path.exists()  # the default file of this environment: unused
    con = duckdb.connect(str(elsewhere), read_only=True)
    try:
        expected = catalog(con.sql(CATALOG).fetchall())
        counts = {t: con.sql(f"select count(*) from {t}").fetchall()[0][0]
                  for t, (_, is_view) in expected.items() if not is_view}
    finally:
        con.close()
    with dg.DagsterInstance.get() as instance:
        assert_metadata_matches_the_catalog(instance, expected, counts, printed, loaded)
