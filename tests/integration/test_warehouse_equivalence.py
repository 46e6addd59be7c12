"""Same answers on both warehouses: the whole pipeline on DuckDB and on PostgreSQL, compared.

The `nightly_refresh` job materializes everything from the same tiny simulation twice, once
into a DuckDB file (the session's shared tiny build, ``built_tiny_env`` in tests/conftest.py)
and once into a fresh PostgreSQL database (Dagster's instance stays SQLite for both). Every
table and view in marts, analytics and reporting must then hold the same rows: the same columns,
the same row count, identical non-numeric values (keys, dimensions, dates) and numeric values
equal to 1e-9 relative. The DuckDB build is the reference: the same SQL, a
second engine.

A second test runs a job against a Dagster instance whose storage is PostgreSQL, built from
the `dagster.postgres.yaml.example` template, and finds the run and its events in that database.
"""

from __future__ import annotations

import os
import shutil
import uuid

import dagster as dg
import polars as pl
import psycopg
import pytest

from dagster_project.contract import RAW_TABLES
from dagster_project.settings import PROJECT_ROOT, get_settings
from dagster_project.warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

COMPARED_SCHEMAS = ("marts", "analytics", "reporting")


def create_database(server, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{name}"')
    return name


def use_postgres(mp: pytest.MonkeyPatch, server, dbname: str) -> None:
    for name, value in server.warehouse_env(dbname).items():
        mp.setenv(name, value)


def run_job(name: str) -> dg.ExecuteInProcessResult:
    from dagster_project.definitions import defs

    with dg.DagsterInstance.get() as instance:
        return defs().resolve_job_def(name).execute_in_process(instance=instance)


def warehouse() -> Warehouse:
    s = get_settings()
    return Warehouse(
        backend=s.warehouse_backend, duckdb_path=str(s.duckdb_path), postgres_dsn=s.postgres_dsn
    )


def snapshot(compare) -> dict:
    """Every table and view of the compared schemas, read through the Warehouse resource."""
    wh = warehouse()
    schemas = ", ".join(f"'{s}'" for s in COMPARED_SCHEMAS)
    names = wh.read(
        "select table_schema || '.' || table_name as t from information_schema.tables "
        f"where table_schema in ({schemas})"
    )["t"].to_list()
    return {t: compare.normalized(wh.read(f"select * from {t}")) for t in sorted(names)}


def contents(compare) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """The compared tables of the configured warehouse, and the row count of each raw table."""
    return snapshot(compare), {t: warehouse().scalar(f"select count(*) from raw.{t}") for t in RAW_TABLES}


@pytest.fixture(scope="module")
def both_builds(built_tiny_env, tmp_path_factory, tiny_simulation, pg_server, pipeline_env_factory,
                table_comparison):
    """DuckDB: a copy of the session's tiny nightly build (tests/conftest.py: the same job on
    the same simulation); PostgreSQL: the job run here into a fresh database."""
    builds = {"duckdb": contents(table_comparison)}
    with pytest.MonkeyPatch.context() as mp:
        pipeline_env_factory(tmp_path_factory.mktemp("postgres"), tiny_simulation, mp)
        mp.setenv("DBT_TARGET", "postgres")  # restored afterwards (settings export it)
        use_postgres(mp, pg_server, create_database(pg_server, "equivalence"))
        assert run_job("nightly_refresh").success
        builds["postgres"] = contents(table_comparison)
    return builds


def test_both_warehouses_load_the_same_raw_rows(both_builds):
    (_, duck_raw), (_, pg_raw) = both_builds["duckdb"], both_builds["postgres"]
    assert pg_raw == duck_raw
    assert all(n > 0 for n in duck_raw.values())


def test_both_warehouses_build_the_same_tables_and_views(both_builds):
    (duck, _), (pg, _) = both_builds["duckdb"], both_builds["postgres"]
    assert sorted(pg) == sorted(duck)
    assert sum(t.startswith("marts.") for t in duck) >= 15


@pytest.mark.parametrize("schema", COMPARED_SCHEMAS)
def test_every_table_holds_the_same_rows_on_both_warehouses(both_builds, schema,
                                                             table_comparison):
    (duck, _), (pg, _) = both_builds["duckdb"], both_builds["postgres"]
    tables = [t for t in duck if t.startswith(f"{schema}.")]
    if schema != "analytics":  # analytics tables arrive with later issues
        assert tables, f"nothing built in {schema}"
    mismatches = {t: d for t in tables if (d := table_comparison.differences(duck[t], pg[t]))}
    assert mismatches == {}


def test_a_run_is_recorded_in_a_postgres_dagster_instance(
    tmp_path, tiny_simulation, pg_server, pipeline_env_factory
):
    with pytest.MonkeyPatch.context() as mp:
        env = pipeline_env_factory(tmp_path, tiny_simulation, mp)
        mp.setenv("DBT_TARGET", "postgres")
        use_postgres(mp, pg_server, create_database(pg_server, "warehouse"))
        mp.setenv("DAGSTER_PG_DB", create_database(pg_server, "dagster"))
        mp.setenv("DAGSTER_PG_USER", "postgres")
        mp.setenv("DAGSTER_PG_PASSWORD", "")
        shutil.copy(
            PROJECT_ROOT / "dagster.postgres.yaml.example", env.dagster_home / "dagster.yaml"
        )
        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = run_job("ingest_landing_files")
        assert result.success
        with dg.DagsterInstance.get() as instance:
            run = instance.get_run_by_id(result.run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        with psycopg.connect(pg_server.conninfo(os.environ["DAGSTER_PG_DB"])) as con:
            recorded = con.execute(
                "select count(*) from event_logs where run_id = %s "
                "and dagster_event_type = 'ASSET_MATERIALIZATION'",
                [result.run_id],
            ).fetchone()[0]
        assert recorded == len(RAW_TABLES)
        assert warehouse().scalar("select count(*) from raw.clients") > 0
