"""Planned sample per experiment: the fixed test's sample and the sequential test's inflation."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import estimates as es
from . import power as pw
from .readout import METRIC_TYPES, variant_weights
from .status import STATUS_CODES, first_failing, null_unless_ok

PLAN_STATS = ("standardized_effect", "planned_n_control", "planned_n_total", "sequential_n_total")
WEIGHT_TOLERANCE = 1e-6


def _weights(registry: pl.DataFrame) -> pl.DataFrame:
    """Per experiment: control weight, smallest treatment weight, number of arms and whether
    the weights are usable (every weight > 0, sum 1 within 1e-6, at least two arms)."""
    w = variant_weights(registry)
    return w.group_by("experiment_id").agg(
        w_c=pl.col("weight").filter("is_control").first(),
        w_t=pl.col("weight").filter(~pl.col("is_control")).min(),
        n_arms=pl.len(),
        weights_ok=((pl.col("weight") > 0).all() & ((pl.col("weight").sum() - 1).abs()
                                                    <= WEIGHT_TOLERANCE) & (pl.len() >= 2)),
        weights=pl.col("weight").cast(pl.String).str.join(", "))


def _observed_baseline(registry: pl.DataFrame, latest: pl.DataFrame) -> pl.DataFrame:
    """The control arm's conversion rate, mean and sd as of ``latest`` (null below 2 units, and
    a rate outside [0, 1] is null: impossible counts estimate nothing)."""
    ctrl = latest.join(variant_weights(registry).filter("is_control")
                       .select("experiment_id", "variant"), on=["experiment_id", "variant"])
    n = ctrl["n"].cast(pl.Float64).to_numpy()
    usable = n >= 2
    pm, _, pv = es.mean_estimate(n, ctrl["sum_y"].cast(pl.Float64).to_numpy(),
                                 ctrl["sum_y2"].cast(pl.Float64).to_numpy())
    pp, _ = es.proportion_estimate(n, ctrl["n_converted"].cast(pl.Float64).to_numpy())
    return ctrl.select("experiment_id").with_columns(
        obs_p=np.where(usable & (pp >= 0) & (pp <= 1), pp, np.nan), obs_mean=np.where(usable, pm, np.nan),
        obs_sd=np.where(usable, np.sqrt(pv), np.nan)).with_columns(
        pl.col("obs_p", "obs_mean", "obs_sd").fill_nan(None))


def _status(kind: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    def outside_unit(c: str) -> pl.Expr:
        return ~((pl.col(c) > 0) & (pl.col(c) < 1)).fill_null(False)

    needs_baseline = kind != "count"  # the log-ratio effect of arrivals needs no baseline
    checks = [
        (kind == "unknown", "unknown_metric",
         pl.format("primary metric '{}' is not one of {}", pl.col("primary_metric"),
                   pl.lit(", ".join(METRIC_TYPES)))),
        (outside_unit("alpha"), "invalid_alpha",
         pl.format("alpha = {} is not in (0, 1)", pl.col("alpha"))),
        (~pl.col("weights_ok"), "invalid_weights",
         pl.format("variant weights [{}]: {}", pl.col("weights"),
                   pl.lit(STATUS_CODES["invalid_weights"]))),
        (outside_unit("power") | ~(pl.col("mde") > 0).fill_null(False)
         | ((kind == "proportion") & (pl.col("baseline") * (1 + pl.col("mde")) >= 1)
            ).fill_null(False),
         "invalid_design", pl.format("power {}, mde {}, baseline {}: {}", pl.col("power"),
                                     pl.col("mde"), pl.col("baseline"),
                                     pl.lit(STATUS_CODES["invalid_design"]))),
        (needs_baseline & (pl.col("baseline").is_null()
                           | ((kind == "mean") & pl.col("baseline_sd").is_null())),
         "missing_baseline", pl.lit(STATUS_CODES["missing_baseline"])),
        (needs_baseline & (pl.col("baseline") <= 0).fill_null(False), "zero_baseline",
         pl.format("baseline {} is 0 or negative: a relative MDE is undefined", pl.col("baseline"))),
        ((kind == "mean") & (pl.col("baseline_sd") <= 0).fill_null(False), "zero_variance",
         pl.format("baseline sd {}: the metric does not vary, no sample size is defined",
                   pl.col("baseline_sd"))),
    ]
    return first_failing(checks)


def plan_samples(registry: pl.DataFrame, latest: pl.DataFrame) -> pl.DataFrame:
    """Planned sample per experiment for its primary metric and relative MDE.

    The baseline (and its sd) come from the registry or, when missing, from the control arm's
    data in ``latest`` (arm statistics as of the last day; at least 2 units).
    ``planned_n_control`` solves the fixed test of the smallest treatment arm against the control
    at alpha / (k - 1), two-sided, at the registered power (:mod:`.power`: Cohen's h and the z
    test for conversion, Cohen's d and the t test for means, the log ratio for sign-ups);
    arm i gets ``ceil(planned_n_control x w_i / w_c)`` whole units and ``planned_n_total`` is
    their sum; ``sequential_n_total`` adds the always-valid test's inflation
    (``ceil(planned_n_total x inflation)``).

    ``status`` / ``status_message`` (:mod:`.status`): unknown_metric, invalid_alpha,
    invalid_weights (a weight <= 0, weights not summing to 1, fewer than two arms),
    invalid_design, missing_baseline, zero_baseline, zero_variance (a mean metric whose sd is 0);
    the planned samples are null unless ``ok``."""
    w = _weights(registry)
    r = (registry.select("experiment_id", "primary_metric", *[pl.col(c).cast(pl.Float64) for c in
                                                              ("alpha", "power", "mde", "baseline",
                                                               "baseline_sd")])
         .join(w, on="experiment_id", how="left")
         .join(_observed_baseline(registry, latest), on="experiment_id", how="left"))
    r = r.with_columns(
        metric_type=pl.col("primary_metric").replace_strict(METRIC_TYPES, default="unknown"),
        weights_ok=pl.col("weights_ok").fill_null(False))
    kind = pl.col("metric_type")
    r = r.with_columns(
        baseline=pl.coalesce(pl.col("baseline").fill_nan(None),
                             pl.when(kind == "proportion").then("obs_p").otherwise("obs_mean")),
        baseline_sd=pl.when(kind == "mean").then(pl.coalesce(pl.col("baseline_sd").fill_nan(None),
                                                             "obs_sd")))
    status, message = _status(kind)
    r = r.with_columns(status=status, status_message=message)
    ok = (r["status"] == "ok").to_numpy()
    kinds = r["metric_type"].to_numpy()

    def safe(col: str, placeholder: float) -> np.ndarray:
        return np.where(ok, r[col].cast(pl.Float64).fill_null(np.nan).to_numpy(), placeholder)

    base, sd, mde = safe("baseline", 0.5), safe("baseline_sd", 1.0), safe("mde", 0.1)
    alpha, power_, k = safe("alpha", 0.05), safe("power", 0.8), safe("n_arms", 2.0)
    w_c, w_t = safe("w_c", 0.5), safe("w_t", 0.5)
    effect = np.select([kinds == "proportion", kinds == "count"],
                       [pw.standardized_effect("proportion", base, mde),
                        pw.standardized_effect("count", base, mde)],
                       pw.standardized_effect("mean", base, mde, sd))
    n_c = pw.sample_size_per_arm(effect, alpha, power_, k, ratio=w_t / w_c,
                                 t_test=kinds == "mean")
    infl = pw.sequential_inflation(alpha, power_, k)
    planned = r.select("experiment_id").with_columns(n_c=n_c, w_c=w_c, infl=infl)
    totals = (variant_weights(registry).select("experiment_id", "weight")
              .join(planned, on="experiment_id")
              .group_by("experiment_id").agg(
                  planned_n_total=(pl.col("n_c") * pl.col("weight") / pl.col("w_c") - 1e-9)
                  .ceil().sum()))
    return (r.with_columns(standardized_effect=effect, planned_n_control=n_c,
                           n_arms=pl.col("n_arms").cast(pl.Int64), _infl=infl)
            .join(totals, on="experiment_id", how="left")
            .with_columns(sequential_n_total=(pl.col("planned_n_total") * pl.col("_infl")).ceil())
            .select("experiment_id", "primary_metric", "alpha", "power", "mde", "metric_type",
                    "baseline", "baseline_sd", "n_arms", *PLAN_STATS, "status", "status_message")
            .with_columns(null_unless_ok(list(PLAN_STATS))))
