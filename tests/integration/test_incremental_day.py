"""A new simulated day lands; the sensor notices it, and ingest + the hourly job add exactly it."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg
import duckdb
import polars as pl
import pytest

from dagster_project.contract import RAW_TABLES

pytestmark = pytest.mark.integration


def counts(env) -> dict[str, int]:
    con = duckdb.connect(str(env.duckdb_path), read_only=True)
    try:
        return {t: con.sql(f"select count(*) from raw.{t}").fetchall()[0][0] for t in RAW_TABLES}
    finally:
        con.close()


def scalar(env, sql):
    con = duckdb.connect(str(env.duckdb_path), read_only=True)
    try:
        return con.sql(sql).fetchall()[0][0]
    finally:
        con.close()


def test_advance_one_day_then_sensor_then_hourly_adds_exactly_that_day(built_tiny_env):
    from dagster_project.definitions import defs
    from dagster_project.defs.automation import landing_files_sensor

    pipeline_env, _ = built_tiny_env  # a copy of the session's tiny nightly build (conftest)
    definitions = defs()
    instance = dg.DagsterInstance.get()

    first = landing_files_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(first, dg.RunRequest)  # a fresh sensor sees the files already there
    cursor = str(max(p.stat().st_mtime_ns for p in pipeline_env.landing.rglob("*.parquet")))
    idle = landing_files_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
    assert isinstance(idle, dg.SkipReason)

    before = counts(pipeline_env)
    manifest = json.loads((pipeline_env.landing / "_simulation.json").read_text())
    subprocess.run(
        [sys.executable, "-m", "dagster_project.simulator", "--out", str(pipeline_env.landing),
         "--truth-out", str(pipeline_env.truth), "--advance-days", "1", "--quiet"],
        check=True,
    )
    after_manifest = json.loads((pipeline_env.landing / "_simulation.json").read_text())
    new_day = after_manifest["end_date"]
    assert after_manifest["days"] == manifest["days"] + 1 and new_day > manifest["end_date"]

    request = landing_files_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
    assert isinstance(request, dg.RunRequest)
    assert request.job_name in (None, "ingest_landing_files")
    ingest = definitions.resolve_job_def("ingest_landing_files")
    assert ingest.execute_in_process(instance=instance, tags=request.tags).success
    assert definitions.resolve_job_def("hourly_refresh").execute_in_process(instance=instance).success

    after = counts(pipeline_env)
    for table in RAW_TABLES:
        day_files = list((pipeline_env.landing / table / f"date={new_day}").glob("*.parquet"))
        expected = sum(pl.read_parquet(p).height for p in day_files)
        assert after[table] - before[table] == expected, table
    assert sum(after.values()) > sum(before.values())

    assert str(scalar(pipeline_env, "select max(cast(hour_at as date)) from marts.fct_api_performance_hourly")) == new_day
    assert str(scalar(pipeline_env, "select max(revenue_date) from marts.fct_revenue_daily")) == new_day
    revenue_day = scalar(
        pipeline_env, f"select sum(revenue) from marts.fct_revenue_daily where revenue_date = '{new_day}'"
    )
    raw_day = scalar(
        pipeline_env, f"select sum(revenue) from raw.conversions where cast(converted_at as date) = '{new_day}'"
    )
    assert revenue_day == pytest.approx(raw_day, rel=1e-9)
