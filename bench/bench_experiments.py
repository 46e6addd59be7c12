"""Experiment statistics: 10,000 two-arm comparisons from sufficient statistics, and the
experiments group's Python assets on the scale's marts."""

from __future__ import annotations

import shutil
import time

from bench_dbt import dbt_cli
from bench_ingest import ensure_raw_warehouse
from benchlib import Context, Record

ORDER = 50
N_EXPERIMENTS = 5_000  # x 2 metrics (conversion, revenue_14d) = 10,000 comparisons
COMPARE_TARGET_S = 0.1
GROUP_TARGET_S = 60.0


def compare_10k(repeats: int = 5) -> dict:
    """Best-of-``repeats`` seconds for 10,000 experiment x metric comparisons: the frame path the
    assets use (statuses, estimates, CUPED, comparisons, Holm/BH, sequential intervals and
    p-values, Bayesian) and the numpy core."""
    import json

    import numpy as np
    import polars as pl

    from dagster_project.analytics import experiments as ex
    from dagster_project.analytics.experiments import comparison as cmp
    from dagster_project.analytics.experiments import estimates as es

    g = np.random.default_rng(0)
    ids = [f"e{i:05d}" for i in range(N_EXPERIMENTS)]
    n = g.integers(1_000, 50_000, (N_EXPERIMENTS, 2)).astype(float)
    conv = g.binomial(n.astype(int), 0.1).astype(float)
    sum_y = conv * 50 + g.normal(0, 10, n.shape)
    arms = pl.DataFrame({
        "experiment_id": np.repeat(ids, 2), "variant": ["control", "treatment"] * N_EXPERIMENTS,
        "n": n.ravel(), "n_converted": conv.ravel(), "sum_y": sum_y.ravel(),
        "sum_y2": (sum_y * 70).ravel(), "sum_x": (n * 5).ravel(), "sum_x2": (n * 400).ravel(),
        "sum_xy": (sum_y * 10).ravel()})
    variants = json.dumps([{"name": "control", "weight": 0.5}, {"name": "treatment", "weight": 0.5}])
    registry = pl.DataFrame({"experiment_id": ids, "primary_metric": "conversion",
                             "secondary_metrics": '["revenue_14d"]', "variants": variants,
                             "alpha": 0.05})
    plan = pl.DataFrame({"experiment_id": ids, "alpha": 0.05, "planned_n_total": 60_000.0,
                         "status": "ok"})
    frame_times, core_times = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        res = ex.adjust_pvalues(ex.compare_to_control(ex.arm_estimates(arms, registry), plan))
        frame_times.append(time.perf_counter() - t)
        mc, vc, _ = es.mean_estimate(n[:, 0], sum_y[:, 0], sum_y[:, 0] * 70)
        t = time.perf_counter()
        mc, vc, _ = es.mean_estimate(np.r_[n[:, 0], n[:, 0]], np.r_[sum_y[:, 0], conv[:, 0]],
                                     np.r_[sum_y[:, 0] * 70, conv[:, 0]])
        mt, vt, _ = es.mean_estimate(np.r_[n[:, 1], n[:, 1]], np.r_[sum_y[:, 1], conv[:, 1]],
                                     np.r_[sum_y[:, 1] * 70, conv[:, 1]])
        cmp.compare(mc, vc, mt, vt, 0.05, cmp.welch_df(vc, vt, np.r_[n[:, 0], n[:, 0]],
                                                      np.r_[n[:, 1], n[:, 1]]))
        core_times.append(time.perf_counter() - t)
    return {"comparisons": res.height, "frame_seconds": min(frame_times),
            "core_seconds": min(core_times)}


def dbt_experiment_marts(duckdb_path: str, target_path: str, log_path: str) -> dict:
    import os

    os.environ.update(BI_DUCKDB_PATH=duckdb_path, DBT_TARGET="duckdb",
                      DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    return dbt_cli(["run", "--select", "+fct_experiment_daily", "+fct_experiment_units",
                    "stg_raw__experiments"], target_path, log_path)


def materialize_group(duckdb_path: str) -> dict:
    """The four Python assets of the experiments group, in one in-process Dagster run."""
    import dagster as dg

    from dagster_project.defs.experiments.assets import experiment_assets
    from dagster_project.warehouse import Warehouse

    wh = Warehouse(duckdb_path=duckdb_path)
    result = dg.materialize(experiment_assets, resources={"warehouse": wh})
    units = wh.read("select count(*) as n from marts.fct_experiment_units")["n"][0]
    rows = wh.read("select count(*) as n from analytics.experiment_monitor")["n"][0]
    return {"success": result.success, "units": int(units), "monitor_rows": int(rows)}


def run(ctx: Context) -> list[Record]:
    m = ctx.measure("bench_experiments:compare_10k", label="compare-10k")
    records = [
        Record.from_measurement(
            "10k comparisons (frame path)", m.result["frame_seconds"], "s", m,
            target=COMPARE_TARGET_S,
            notes=f"{m.result['comparisons']} experiment x metric two-arm comparisons with CUPED, "
            "Holm/BH, sequential and Bayesian columns (best of 5); gbstats ~2.2 s"),
        Record.from_measurement("10k comparisons (numpy core)", m.result["core_seconds"], "s", m,
                                target=COMPARE_TARGET_S, notes="Welch + delta-method lifts only"),
    ]
    raw = ensure_raw_warehouse(ctx)
    db = ctx.path("experiments", raw.name)
    shutil.copyfile(raw, db)
    ctx.measure("bench_experiments:dbt_experiment_marts", label="experiments-dbt",
                duckdb_path=str(db), target_path=str(ctx.dir("experiments-dbt-target")),
                log_path=str(ctx.dir("experiments-dbt-logs")))
    g = ctx.measure("bench_experiments:materialize_group", label="experiments-group",
                    duckdb_path=str(db))
    records.append(Record.from_measurement(
        "experiments group", g.seconds, "s", g, target=GROUP_TARGET_S,
        passed=g.result["success"] and g.seconds <= GROUP_TARGET_S,
        notes=f"analytics/experiments, experiment_results, experiment_monitor, experiment_power "
        f"on {g.result['units']:,} units ({g.result['monitor_rows']:,} monitor rows); marts "
        "built beforehand by dbt (not timed)"))
    return records
