"""The dbt project on Spark: the same marts and reporting tables as DuckDB's build of the same raw
rows, and incremental builds that end where a full refresh does.

A tiny simulation is ingested into DuckDB by the pipeline's ingest job. Its raw rows go to the
session's local Spark server (devtools/spark_raw_copy.py, over Spark Connect) in two loads: first
every row but each fourth source row, then those (spread over every day, client and post, so
the second load holds late rows of old days) with a `_loaded_at` one hour later. Spark builds
after each load (`dbt run`: the incremental models and what they read, then everything, the
incremental models incrementally), reruns the incremental models
on unchanged data, then rebuilds everything with `dbt build --full-refresh` (every model,
contract, data test and unit test). DuckDB builds all the rows once: the reference, the same SQL
on a second engine. Tables are compared with tests/table_comparison.py: identical keys,
dimensions, dates and timestamps (naive UTC; Spark's session zone is UTC), numbers to 1e-9
relative, rows in an engine-independent order, run-time lineage (`*loaded_at`, `built_at`)
dropped.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from dagster_project.contract import RAW_TABLES
from dagster_project.devtools.spark_raw_copy import copy_raw_tables

pytestmark = [pytest.mark.integration, pytest.mark.spark]

ROOT = Path(__file__).resolve().parents[2]
LATE_ROWS = "_source_row % 4 = 0"  # the second load
COMPARED_SCHEMAS = ("marts", "reporting")  # against DuckDB
SPARK_SCHEMAS = ("intermediate", "marts", "reporting")  # incremental against full refresh


def dbt(folder: Path, env: dict[str, str], *args: str) -> None:
    """Run dbt in the project with ``env`` on top of this process's; fail with its output."""
    run = subprocess.run(
        [str(ROOT / ".venv/bin/dbt"), *args, "--project-dir", str(ROOT / "dbt"),
         "--profiles-dir", str(ROOT / "dbt"), "--target-path", str(folder / "target"),
         "--log-path", str(folder / "logs")],
        env={**os.environ, **env}, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-5000:]


def spark_snapshot(spark, schemas, compare) -> dict[str, pl.DataFrame]:
    """Every table and view of ``schemas`` on Spark, read as Arrow over Connect, normalized."""
    names = [f"{s}.{row.tableName}" for s in schemas
             for row in spark.sql(f"show tables in {s}").collect() if not row.isTemporary]
    for t in names:  # dbt rewrote them through Thrift: this session's file listings are stale
        spark.catalog.refreshTable(t)
    return {t: compare.normalized(pl.from_arrow(spark.table(t).toArrow())) for t in sorted(names)}


def duckdb_snapshot(path: Path, schemas, compare) -> dict[str, pl.DataFrame]:
    """Every table and view of ``schemas`` in the DuckDB file, normalized."""
    with duckdb.connect(str(path), read_only=True) as con:
        listed = ", ".join(f"'{s}'" for s in schemas)
        names = [r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            f"where table_schema in ({listed})").fetchall()]
        return {t: compare.normalized(pl.from_arrow(con.sql(f"select * from {t}").to_arrow_table()))
                for t in sorted(names)}


@pytest.fixture(scope="module")
def builds(tmp_path_factory, tiny_simulation, pipeline_env_factory, spark_server, spark_session,
           table_comparison):
    from dagster_project.definitions import defs

    tmp = tmp_path_factory.mktemp("dbt_spark")
    with pytest.MonkeyPatch.context() as mp:
        env = pipeline_env_factory(tmp, tiny_simulation, mp)
        with dg.DagsterInstance.get() as instance:
            ingest = defs().resolve_job_def("ingest_landing_files").execute_in_process(
                instance=instance)
        assert ingest.success
    db = env.duckdb_path
    with duckdb.connect(str(db)) as con:
        for t in RAW_TABLES:
            con.execute(f"update raw.{t} set _loaded_at = _loaded_at + interval 1 hour "
                        f"where {LATE_ROWS}")
    spark_env = {"DBT_TARGET": "spark", "BI_SPARK_THRIFT_HOST": "127.0.0.1",
                 "BI_SPARK_THRIFT_PORT": str(spark_server.thrift_port)}
    spark = spark_session
    first_rows = copy_raw_tables(db, spark, where=f"not ({LATE_ROWS})")
    # the first load builds the incremental models (and what they read) only
    dbt(tmp / "spark_first", spark_env, "run", "--select", "+config.materialized:incremental")
    first = spark_snapshot(spark, ("intermediate", "marts"), table_comparison)
    late_rows = copy_raw_tables(db, spark, where=LATE_ROWS, append=True)
    dbt(tmp / "spark_incremental", spark_env, "run")
    incremental = spark_snapshot(spark, SPARK_SCHEMAS, table_comparison)
    dbt(tmp / "spark_rerun", spark_env, "run", "--select", "config.materialized:incremental")
    rerun = spark_snapshot(spark, SPARK_SCHEMAS, table_comparison)
    dbt(tmp / "spark_full", spark_env, "build", "--full-refresh")
    full = spark_snapshot(spark, SPARK_SCHEMAS, table_comparison)
    spark_raw = {t: spark.table(f"raw.{t}").count() for t in RAW_TABLES}
    dbt(tmp / "duckdb", {"DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(db)}, "build")
    with duckdb.connect(str(db), read_only=True) as con:
        duck_raw = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in RAW_TABLES}
    return {
        "loads": (first_rows, late_rows), "raw": (duck_raw, spark_raw),
        "first": first, "incremental": incremental, "rerun": rerun, "full": full,
        "duckdb": duckdb_snapshot(db, COMPARED_SCHEMAS, table_comparison),
    }


def test_spark_gets_every_raw_row_of_the_duckdb_ingest_in_two_loads(builds):
    (first_rows, late_rows), (duck_raw, spark_raw) = builds["loads"], builds["raw"]
    assert spark_raw == duck_raw
    assert {t: first_rows[t] + late_rows[t] for t in RAW_TABLES} == duck_raw
    assert all(n > 0 for n in duck_raw.values())
    assert sum(late_rows.values()) > 0 and sum(first_rows.values()) > 0


@pytest.mark.parametrize("schema", COMPARED_SCHEMAS)
def test_every_table_built_on_spark_equals_the_duckdb_build(builds, schema, table_comparison):
    duck = {t: df for t, df in builds["duckdb"].items() if t.startswith(f"{schema}.")}
    spark = {t: df for t, df in builds["full"].items() if t.startswith(f"{schema}.")}
    assert sorted(spark) == sorted(duck)
    assert len(duck) >= (15 if schema == "marts" else 5)
    assert all(df.height > 0 for t, df in duck.items() if t.startswith("marts."))
    mismatches = {t: d for t in duck if (d := table_comparison.differences(duck[t], spark[t]))}
    assert mismatches == {}


def test_an_incremental_build_on_spark_equals_a_full_refresh(builds, table_comparison):
    incremental, full = builds["incremental"], builds["full"]
    assert sorted(incremental) == sorted(full)
    mismatches = {t: d for t in full if (d := table_comparison.differences(full[t], incremental[t]))}
    assert mismatches == {}


def test_the_second_load_changed_every_incremental_model_it_checks(builds, table_comparison):
    """The incremental build had work to do: the late rows moved the marts it recomputed."""
    first, full = builds["first"], builds["full"]
    recomputed = ["marts.fct_revenue_daily", "marts.fct_feature_usage_daily",
                  "marts.fct_api_performance_hourly", "marts.fct_conversions",
                  "marts.fct_content_performance", "intermediate.int_customer_paths"]
    unchanged = [t for t in recomputed if not table_comparison.differences(full[t], first[t])]
    assert unchanged == []


def test_rerunning_the_incremental_models_on_unchanged_data_changes_no_row(builds, table_comparison):
    incremental, rerun = builds["incremental"], builds["rerun"]
    mismatches = {t: d for t in rerun
                  if (d := table_comparison.differences(incremental[t], rerun[t]))}
    assert mismatches == {}
    assert all(rerun[t].height == incremental[t].height for t in rerun)
