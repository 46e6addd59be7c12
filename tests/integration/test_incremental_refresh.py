"""Incremental refreshes give exactly what a full refresh gives, on the pipeline's own data.

The scenario is what the hourly job meets in normal operation. A warehouse is built; then a new
simulated day lands (``--advance-days 1``: clients who signed up that day, with their first
subscription events and marketing spend), together with what an EL tool delivers late: rows of
an old day held back from the first delivery (orders, touches, engagement, API and resource
minutes, spend, feature usage, generation jobs) and a new experiment with its assignments.

The refreshed warehouse is then compared with a copy of itself rebuilt by
``dbt run --full-refresh``: every model the job rebuilt must hold the same rows, lineage columns
(``*_loaded_at``) included, floats to 1e-12 relative (DuckDB's parallel sums may round the last
bit differently). Only ``built_at`` (when a row was last recomputed) differs by design.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal

from dagster_project.settings import PROJECT_ROOT, get_settings
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.integration

# (table, partition column) of the rows an EL tool delivers late; every 7th row of the day
LATE_TABLES = {
    "conversions": "converted_at", "touchpoints": "touched_at",
    "content_engagement": "observed_date", "api_requests": "ts", "resource_usage": "ts",
    "marketing_spend": "spend_date", "feature_usage_logs": "timestamp",
    "content_generation_jobs": "started_at",
}
LATE_DAYS_BACK = 5


def hold_back_late_rows(landing: Path, holding: Path) -> None:
    """Move every 7th row of an old day's partition of each LATE_TABLES table to ``holding``."""
    manifest = json.loads((landing / "_simulation.json").read_text())
    day = dt.date.fromisoformat(manifest["end_date"]) - dt.timedelta(days=LATE_DAYS_BACK)
    for table in LATE_TABLES:
        path = landing / table / f"date={day}" / f"{table}-{day}.parquet"
        rows = pl.read_parquet(path).with_row_index("_i")
        late = rows.filter(pl.col("_i") % 7 == 3).drop("_i")
        assert late.height > 0, table
        rows.filter(pl.col("_i") % 7 != 3).drop("_i").write_parquet(path)
        (holding / table).mkdir(parents=True)
        late.write_parquet(holding / table / f"{table}-late-{day}.parquet")


def deliver(holding: Path, landing: Path) -> None:
    """The EL tool's late delivery lands under ``<table>/late/``."""
    for table in LATE_TABLES:
        (landing / table / "late").mkdir()
        for f in (holding / table).iterdir():
            shutil.copy(f, landing / table / "late" / f.name)


def register_new_experiment(landing: Path) -> None:
    """A new two-arm experiment starting on the new day, with 40 assigned units."""
    manifest = json.loads((landing / "_simulation.json").read_text())
    start = dt.datetime.fromisoformat(manifest["end_date"]) + dt.timedelta(hours=1)
    folder = landing / "experiments" / "late"
    folder.mkdir(parents=True)
    pl.DataFrame({
        "experiment_id": ["exp-el-001"], "client_id": [None], "name": ["late_registration"],
        "hypothesis": ["An experiment registered by the EL tool."], "kind": ["feature"],
        "unit_type": ["user"], "primary_metric": ["conversion"],
        "variants": [json.dumps([{"name": "control", "weight": 0.5},
                                 {"name": "treatment", "weight": 0.5}])],
        "start_at": [start], "end_at": [None], "alpha": [0.05], "power": [0.8], "mde": [0.1],
    }, schema_overrides={"client_id": pl.String, "end_at": pl.Datetime("us")}).write_parquet(
        folder / "experiments-el.parquet")
    folder = landing / "experiment_assignments" / "late"
    folder.mkdir(parents=True)
    pl.DataFrame({
        "experiment_id": "exp-el-001", "unit_id": [f"u-el-{i:03d}" for i in range(40)],
        "variant": ["control", "treatment"] * 20,
        "assigned_at": [start + dt.timedelta(minutes=i) for i in range(40)],
        "metric_value": [float(i % 5) for i in range(40)], "converted": [i % 3 == 0 for i in range(40)],
        "pre_metric_value": [float(i % 4) for i in range(40)],
    }).write_parquet(folder / "experiment_assignments-el.parquet")


def advance_one_day(env) -> None:
    subprocess.run([sys.executable, "-m", "dagster_project.simulator", "--out", str(env.landing),
                    "--truth-out", str(env.truth), "--advance-days", "1", "--quiet"], check=True)


def run_job(name: str, selection: dg.AssetSelection | None = None) -> dg.ExecuteInProcessResult:
    from dagster_project.definitions import defs

    definitions = defs()
    if selection is not None:
        definitions = dg.Definitions.merge(
            definitions, dg.Definitions(jobs=[dg.define_asset_job(name, selection=selection)]))
    with dg.DagsterInstance.get() as instance:
        return definitions.resolve_job_def(name).execute_in_process(instance=instance,
                                                                   raise_on_error=False)


def dbt_models_of(result: dg.ExecuteInProcessResult) -> list[str]:
    """The dbt models (schema.name) that a run materialized."""
    keys = {e.asset_key for e in result.get_asset_materialization_events()}
    return sorted(".".join(k.path) for k in keys if k.path[0] in ("staging", "intermediate",
                                                                   "marts", "reporting"))


def full_refresh(models: list[str], env_vars: dict[str, str], target_path: Path) -> None:
    """``dbt run --full-refresh`` of ``models`` against the warehouse that ``env_vars`` name."""
    names = [m.split(".")[1] for m in models]
    run = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--full-refresh", "--project-dir",
         str(PROJECT_ROOT / "dbt"), "--profiles-dir", str(PROJECT_ROOT / "dbt"),
         "--target-path", str(target_path), "--select", *names],
        env={**os.environ, **env_vars}, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-3000:]


def tables(warehouse: Warehouse, models: list[str]) -> dict[str, pl.DataFrame]:
    out = {}
    with warehouse.session() as s:
        for m in models:
            df = s.read(f"select * from {m}").drop("built_at", strict=False)
            floats = [c for c, d in df.schema.items() if d.is_float()]
            out[m] = df.sort([c for c in df.columns if c not in floats] + floats, nulls_last=True)
    return out


def assert_same(incremental: dict[str, pl.DataFrame], full: dict[str, pl.DataFrame]) -> None:
    for model, frame in incremental.items():
        assert frame.height > 0, model
        try:
            assert_frame_equal(frame, full[model], check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
        except AssertionError as exc:
            raise AssertionError(f"{model}: incremental != full refresh: {exc}") from None


def duckdb_copy_equals_full_refresh(env, models: list[str], tmp: Path) -> None:
    copy = tmp / "full_refresh.duckdb"
    shutil.copy(env.duckdb_path, copy)
    full_refresh(models, {"DBT_TARGET": "duckdb", "BI_DUCKDB_PATH": str(copy)}, tmp / "target")
    assert_same(tables(Warehouse(duckdb_path=str(env.duckdb_path)), models),
                tables(Warehouse(duckdb_path=str(copy)), models))


MARTS_ONLY = (dg.AssetSelection.groups("ingest")
              | dg.AssetSelection.key_prefixes(["staging"], ["intermediate"], ["marts"]))


@pytest.fixture(scope="module")
def small_env(tmp_path_factory, pipeline_env_factory):
    """`small` (seed 7) with an old day's rows held back for the late delivery."""
    from dagster_project.simulator import simulate

    tmp = tmp_path_factory.mktemp("incremental_small")
    sim = tmp / "sim"
    simulate("small", 7, sim / "landing", sim / "truth")
    hold_back_late_rows(sim / "landing", tmp / "held")
    with pytest.MonkeyPatch.context() as mp:
        yield pipeline_env_factory(tmp / "env", sim, mp), tmp


def test_hourly_job_after_a_new_day_and_late_rows_equals_a_full_refresh_on_small(small_env):
    env, tmp = small_env
    assert run_job("build_marts", MARTS_ONLY).success
    advance_one_day(env)
    deliver(tmp / "held", env.landing)
    register_new_experiment(env.landing)
    new_day = json.loads((env.landing / "_simulation.json").read_text())["end_date"]
    spend = pl.read_parquet(env.landing / "marketing_spend" / f"date={new_day}" / "*.parquet")
    clients = pl.read_parquet(env.landing / "clients" / f"date={new_day}" / "*.parquet")
    # the check bites: clients who signed up on the new day already have marketing spend
    assert spend.join(clients, on="client_id").height > 0

    hourly = run_job("hourly_refresh")
    assert hourly.success, [e.message for e in hourly.all_events if e.is_failure]
    rebuilt = [m for m in dbt_models_of(hourly)
               if not m.startswith(("staging.", "reporting.")) and m != "intermediate.int_as_of_date"]
    assert {"marts.fct_revenue_daily", "marts.fct_api_performance_hourly", "marts.dim_clients",
            "intermediate.int_customer_path_touches"} <= set(rebuilt)
    duckdb_copy_equals_full_refresh(env, rebuilt, tmp)
    late_day = dt.date.fromisoformat(new_day) - dt.timedelta(days=LATE_DAYS_BACK + 1)
    raw = Warehouse(duckdb_path=str(env.duckdb_path)).scalar(
        f"select sum(revenue) from raw.conversions where cast(converted_at as date) = '{late_day}'")
    mart = Warehouse(duckdb_path=str(env.duckdb_path)).scalar(
        f"select sum(revenue) from marts.fct_revenue_daily where revenue_date = '{late_day}'")
    assert mart == pytest.approx(raw, rel=1e-12)  # the late orders reached their own day


@pytest.mark.parametrize("backend", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_nightly_on_a_new_day_with_late_rows_equals_a_full_refresh_of_every_mart(
        backend, tmp_path, tiny_simulation, pipeline_env_factory, monkeypatch, request):
    sim = tmp_path / "sim"
    shutil.copytree(tiny_simulation, sim)
    hold_back_late_rows(sim / "landing", tmp_path / "held")
    env = pipeline_env_factory(tmp_path / "env", sim, monkeypatch)
    if backend == "postgres":
        server = request.getfixturevalue("pg_server")
        db = f"incr_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server.conninfo(), autocommit=True) as con:
            con.execute(f'create database "{db}"')
        for name, value in server.warehouse_env(db).items():
            monkeypatch.setenv(name, value)
    assert run_job("nightly_refresh").success
    advance_one_day(env)
    deliver(tmp_path / "held", env.landing)
    register_new_experiment(env.landing)
    assert run_job("hourly_refresh").success
    nightly = run_job("nightly_refresh")
    assert nightly.success
    marts = [m for m in dbt_models_of(nightly) if m.startswith(("marts.", "intermediate."))]
    assert len(marts) > 20
    if backend == "duckdb":
        duckdb_copy_equals_full_refresh(env, marts, tmp_path)
        return
    copy = f"{db}_full"
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{copy}" template "{db}"')
    full_refresh(marts, server.warehouse_env(copy), tmp_path / "target")
    assert_same(tables(Warehouse(backend="postgres", postgres_dsn=get_settings().postgres_dsn), marts),
                tables(Warehouse(backend="postgres", postgres_dsn=server.conninfo(copy)), marts))
