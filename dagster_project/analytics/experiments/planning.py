"""Planned sample per experiment: the fixed test's sample and the sequential test's inflation."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import estimates as es
from . import power as pw
from .readout import METRIC_TYPES, variant_weights


def plan_samples(registry: pl.DataFrame, latest: pl.DataFrame) -> pl.DataFrame:
    """Planned sample per experiment for its primary metric and relative MDE.

    The baseline (and its sd) come from the registry or, when missing, from the control arm's data
    in ``latest`` (arm statistics as of the last day). ``planned_n_control`` solves the fixed
    two-sided test at alpha / (k - 1) (power module); ``planned_n_total`` spreads it by the
    weights (the control arm gets ``planned_n_control``, arm i ``planned_n_control w_i / w_c``,
    the largest need over treatments kept); ``sequential_n_total`` adds the always-valid test's
    inflation."""
    w = variant_weights(registry)
    wc = w.filter("is_control").select("experiment_id", w_c=pl.col("weight"), n_arms="n_arms")
    wt_min = w.filter(~pl.col("is_control")).group_by("experiment_id").agg(
        w_t=pl.col("weight").min())
    ctrl = latest.join(w.filter("is_control").select("experiment_id", "variant"),
                       on=["experiment_id", "variant"])
    n = ctrl["n"].cast(pl.Float64).to_numpy()
    pm, _, pv = es.mean_estimate(n, ctrl["sum_y"].to_numpy(), ctrl["sum_y2"].to_numpy())
    pp, _ = es.proportion_estimate(n, ctrl["n_converted"].to_numpy())
    obs = ctrl.select("experiment_id").with_columns(obs_p=pp, obs_mean=pm, obs_sd=np.sqrt(pv))
    r = (registry.select("experiment_id", "primary_metric", "alpha", "power", "mde", "baseline",
                         "baseline_sd")
         .join(wc, on="experiment_id", how="left").join(wt_min, on="experiment_id", how="left")
         .join(obs, on="experiment_id", how="left"))
    kind = r["primary_metric"].replace_strict(METRIC_TYPES, default="unknown").to_numpy()
    base_obs = np.where(kind == "proportion", r["obs_p"].to_numpy(), r["obs_mean"].to_numpy())
    base = r["baseline"].fill_null(np.nan).to_numpy()
    base = np.where(np.isnan(base), base_obs, base)
    sd = r["baseline_sd"].fill_null(np.nan).to_numpy()
    sd = np.where(np.isnan(sd), r["obs_sd"].to_numpy(), sd)
    mde, alpha, power_ = (r[c].to_numpy() for c in ("mde", "alpha", "power"))
    effect = np.select([kind == "proportion", kind == "count"],
                       [pw.standardized_effect("proportion", base, mde),
                        pw.standardized_effect("count", base, mde)],
                       pw.standardized_effect("mean", base, mde, sd))
    w_c, w_t, k = (r[c].to_numpy().astype(float) for c in ("w_c", "w_t", "n_arms"))
    n_c = pw.sample_size_per_arm(effect, alpha, power_, k, ratio=w_t / w_c)
    total = np.ceil(n_c / w_c)
    infl = pw.sequential_inflation(alpha, power_, k)
    return r.select("experiment_id", "primary_metric", "alpha", "power", "mde").with_columns(
        metric_type=kind, baseline=base, baseline_sd=np.where(kind == "mean", sd, np.nan),
        standardized_effect=effect, n_arms=k.astype(np.int64), planned_n_control=n_c,
        planned_n_total=total, sequential_n_total=np.ceil(total * infl),
    )
