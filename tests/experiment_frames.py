"""Small experiment frames for the unit tests: a registry, arm statistics from unit values, and
the read-out the assets compute (plan, comparisons, adjusted p-values) over them."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from dagster_project.analytics import experiments as ex

TWO_ARMS = (("control", 0.5), ("treatment", 0.5))


def registry(*experiments: dict) -> pl.DataFrame:
    """One registry row per dict; defaults: a 50/50 conversion experiment with no secondary
    metric, alpha 0.05, power 0.8, mde 0.1, no baseline (taken from the data), flat prior."""
    rows = []
    for i, e in enumerate(experiments):
        arms = e.get("arms", TWO_ARMS)
        rows.append({
            "experiment_id": e.get("experiment_id", f"e{i + 1}"),
            "primary_metric": e.get("primary_metric", "conversion"),
            "secondary_metrics": json.dumps(e.get("secondary", [])),
            "variants": json.dumps([{"name": n, "weight": w} for n, w in arms]),
            "alpha": e.get("alpha", 0.05), "power": e.get("power", 0.8), "mde": e.get("mde", 0.1),
            "baseline": e.get("baseline"), "baseline_sd": e.get("baseline_sd"),
            "end_at": e.get("end_at"), "prior_mean": e.get("prior_mean"),
            "prior_sd": e.get("prior_sd")})
    return pl.DataFrame(rows, schema={
        "experiment_id": pl.String, "primary_metric": pl.String, "secondary_metrics": pl.String,
        "variants": pl.String, "alpha": pl.Float64, "power": pl.Float64, "mde": pl.Float64,
        "baseline": pl.Float64, "baseline_sd": pl.Float64, "end_at": pl.Datetime("us"),
        "prior_mean": pl.Float64, "prior_sd": pl.Float64})


def unit_stats(experiment_id: str, variant: str, y, x=None, converted=None) -> dict:
    """Sufficient statistics of one arm from its units' post values y, pre values x and
    conversion flags (x: zeros, converted: y > 0 when not given)."""
    y = np.asarray(y, dtype=float)
    x = np.zeros_like(y) if x is None else np.asarray(x, dtype=float)
    c = (y > 0) if converted is None else np.asarray(converted, dtype=bool)
    return {"experiment_id": experiment_id, "variant": variant, "n": float(y.size),
            "n_converted": float(c.sum()), "sum_y": y.sum(), "sum_y2": (y * y).sum(),
            "sum_x": x.sum(), "sum_x2": (x * x).sum(), "sum_xy": (x * y).sum(),
            "sum_yc": y[c].sum()}


def arm_stats(*rows: dict) -> pl.DataFrame:
    """Arm statistics from dicts (missing sums are 0; None stays null)."""
    cols = ("n", "n_converted", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy", "sum_yc")
    return pl.DataFrame([{"experiment_id": r["experiment_id"], "variant": r["variant"],
                          **{c: r.get(c, 0.0) for c in cols}} for r in rows],
                        schema={"experiment_id": pl.String, "variant": pl.String,
                                **{c: pl.Float64 for c in cols}})


def readout(stats: pl.DataFrame, reg: pl.DataFrame, cuped: bool = True) -> pl.DataFrame:
    """What analytics.experiment_results computes before the SRM and decision joins."""
    plan = ex.plan_samples(reg, stats)
    return ex.adjust_pvalues(ex.compare_to_control(ex.arm_estimates(stats, reg), plan,
                                                   cuped=cuped))
