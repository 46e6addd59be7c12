"""Experiment read-outs over experiments x metrics x variants, from per-arm sufficient statistics.

Input frames
- ``registry`` (one row per experiment; ``analytics.experiments``): experiment_id,
  primary_metric, secondary_metrics (JSON list or null), variants (JSON list of {name, weight};
  the first is the control), alpha, power, mde (relative), baseline, baseline_sd (null: taken
  from the control arm's data), end_at.
- ``arm_stats`` (one row per experiment x variant [x date_day]): n, n_converted, sum_y, sum_y2,
  sum_x, sum_x2, sum_xy and optionally sum_yc (sum of y over converted units), where y is the
  unit's metric_value and x its pre-period value (``marts.fct_experiment_daily`` or an aggregate
  of ``marts.fct_experiment_units``).

Metrics (all "higher is better"):
``conversion`` proportion of converted units; ``revenue_14d`` mean of y, CUPED-adjusted on x;
``revenue_per_converter`` ratio sum(y) / sum(converted) by the delta method (needs sum_yc);
``signups`` arrivals per unit of allocation weight (for price tests whose outcome is the number
of sign-ups in each arm; no SRM test there, the count *is* the effect).
The formulas live in :mod:`.estimates`, :mod:`.comparison`, :mod:`.bayes`, :mod:`.sequential`
and :mod:`.power`; sample planning in :mod:`.planning`, decisions in :mod:`.decision`.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from . import estimates as es
from .bayes import bayes_normal
from .comparison import compare, welch_df
from .sequential import boundary_multiplier

METRIC_TYPES = {"conversion": "proportion", "revenue_14d": "mean",
                "revenue_per_converter": "ratio", "signups": "count"}
PRIMARY_METRICS = ("conversion", "revenue_14d", "signups")  # computable from daily statistics
DEFAULT_SECONDARY = {"conversion": ["revenue_14d", "revenue_per_converter"],
                     "revenue_14d": ["conversion"], "signups": ["revenue_14d"]}
STAT_COLUMNS = ("n", "n_converted", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")
VARIANTS_DTYPE = pl.List(pl.Struct({"name": pl.String, "weight": pl.Float64}))


def variant_weights(registry: pl.DataFrame) -> pl.DataFrame:
    """experiment_id, variant, weight, is_control, arm_index, n_arms from the variants JSON."""
    return (
        registry.select("experiment_id", pl.col("variants").str.json_decode(VARIANTS_DTYPE))
        .explode("variants").unnest("variants").rename({"name": "variant"})
        .with_columns(arm_index=pl.int_range(pl.len()).over("experiment_id"),
                      n_arms=pl.len().over("experiment_id"))
        .with_columns(is_control=pl.col("arm_index") == 0)
    )


def experiment_metrics(registry: pl.DataFrame) -> pl.DataFrame:
    """experiment_id, metric, is_primary: the primary metric and the secondary ones (registered,
    or the defaults for landed experiments)."""
    rows = []
    for e, primary, secondary in registry.select(
            "experiment_id", "primary_metric", "secondary_metrics").iter_rows():
        extra = json.loads(secondary) if secondary else DEFAULT_SECONDARY.get(primary, [])
        rows += [(e, primary, True)] + [(e, m, False) for m in extra if m != primary]
    return pl.DataFrame(rows, schema={"experiment_id": pl.String, "metric": pl.String,
                                      "is_primary": pl.Boolean}, orient="row")


def arm_estimates(arm_stats: pl.DataFrame, registry: pl.DataFrame, keys=("experiment_id",),
                  cuped: bool = True) -> pl.DataFrame:
    """One row per ``keys`` x variant x metric: ``mean``, ``var_mean`` (squared standard error,
    CUPED-adjusted for revenue_14d when ``cuped``) and ``var_mean_raw`` (unadjusted)."""
    keys = list(keys)
    s = arm_stats.with_columns([pl.col(c).cast(pl.Float64).fill_null(0.0) for c in STAT_COLUMNS])
    if "sum_yc" not in s.columns:
        s = s.with_columns(sum_yc=pl.lit(None, pl.Float64))
    s = s.join(variant_weights(registry).select("experiment_id", "variant", "weight", "is_control",
                                                "n_arms"), on=["experiment_id", "variant"])
    # CUPED: theta pooled over the arms within each key group
    s = s.with_columns(
        _sxx=pl.col("sum_x2") - pl.col("sum_x") ** 2 / pl.col("n"),
        _sxy=pl.col("sum_xy") - pl.col("sum_x") * pl.col("sum_y") / pl.col("n"),
    ).with_columns(
        theta=pl.when(pl.col("_sxx").sum().over(keys) > 0)
        .then(pl.col("_sxy").sum().over(keys) / pl.col("_sxx").sum().over(keys)).otherwise(0.0),
        grand_mean_x=pl.col("sum_x").sum().over(keys) / pl.col("n").sum().over(keys),
    ).drop("_sxx", "_sxy")
    s = s.join(experiment_metrics(registry), on="experiment_id")
    a = {c: s[c].to_numpy() for c in (*STAT_COLUMNS, "sum_yc", "weight", "theta", "grand_mean_x")}
    kind = s["metric"].replace_strict(METRIC_TYPES, default="unknown").to_numpy()
    mean = np.full(s.height, np.nan)
    var = np.full(s.height, np.nan)
    var_raw = np.full(s.height, np.nan)
    _, v, _ = es.mean_estimate(a["n"], a["sum_y"], a["sum_y2"])
    c = es.cuped_estimate(a["n"], a["sum_y"], a["sum_y2"], a["sum_x"], a["sum_x2"], a["sum_xy"],
                          a["theta"] if cuped else 0.0, a["grand_mean_x"])
    sel = kind == "mean"
    mean[sel], var[sel], var_raw[sel] = c.mean[sel], c.var_mean[sel], v[sel]
    p, vp = es.proportion_estimate(a["n"], a["n_converted"])
    sel = kind == "proportion"
    mean[sel], var[sel], var_raw[sel] = p[sel], vp[sel], vp[sel]
    # converted is 0/1, so sum(c^2) = n_converted
    r, vr = es.ratio_estimate(a["n"], a["sum_y"], a["sum_y2"], a["n_converted"], a["n_converted"],
                              a["sum_yc"])
    sel = kind == "ratio"
    mean[sel], var[sel], var_raw[sel] = r[sel], vr[sel], vr[sel]
    k, vk = es.count_estimate(a["n"], a["weight"])
    sel = kind == "count"
    mean[sel], var[sel], var_raw[sel] = k[sel], vk[sel], vk[sel]
    return s.select(*keys, *[c for c in ("date_day",) if c in s.columns and c not in keys],
                    "variant", "is_control", "weight", "n_arms", "metric", "is_primary", "n",
                    ).with_columns(metric_type=pl.Series(kind), mean=mean, var_mean=var,
                                   var_mean_raw=var_raw)


def compare_to_control(estimates: pl.DataFrame, plan: pl.DataFrame, keys=("experiment_id",),
                       cuped: bool = True) -> pl.DataFrame:
    """Each treatment against the control of its experiment (per ``keys`` x metric).

    Columns: fixed-horizon lift (absolute and relative, CIs at each experiment's alpha, p-values;
    Welch df for means, normal otherwise), CUPED variance reduction, the always-valid interval
    (normal mixture tuned at the planned sample, level alpha / (k - 1) for k arms) and the
    Bayesian chance to beat control and expected loss (both on the relative lift)."""
    keys = list(keys)
    on = [*keys, "metric"]
    ctrl = estimates.filter("is_control").select(
        *on, n_control=pl.col("n"), control_mean=pl.col("mean"), _vc=pl.col("var_mean"),
        _vcr=pl.col("var_mean_raw"), _wc=pl.col("weight"))
    t = (estimates.filter(~pl.col("is_control")).join(ctrl, on=on)
         .rename({"n": "n_treatment", "mean": "treatment_mean"})
         .join(plan.select("experiment_id", "alpha", "planned_n_total"), on="experiment_id"))
    g = {c: t[c].to_numpy() for c in ("control_mean", "_vc", "treatment_mean", "var_mean",
                                      "n_control", "n_treatment", "alpha", "_vcr", "var_mean_raw",
                                      "planned_n_total", "_wc", "weight", "n_arms")}
    welch = (t["metric_type"] == "mean").to_numpy()
    df = np.where(welch, welch_df(g["_vc"], g["var_mean"], g["n_control"], g["n_treatment"]),
                  np.inf)
    cmp = compare(g["control_mean"], g["_vc"], g["treatment_mean"], g["var_mean"], g["alpha"], df)
    with np.errstate(invalid="ignore", divide="ignore"):
        reduction = 1 - (g["_vc"] + g["var_mean"]) / (g["_vcr"] + g["var_mean_raw"])
    seq_alpha = g["alpha"] / np.maximum(g["n_arms"] - 1, 1)
    mult = boundary_multiplier(g["n_control"] + g["n_treatment"],
                               g["planned_n_total"] * (g["_wc"] + g["weight"]), seq_alpha)
    chance, loss = bayes_normal(cmp.rel_lift, cmp.rel_se)
    return t.select(*on, "variant", "metric_type", "is_primary", "n_control", "n_treatment",
                    "control_mean", "treatment_mean").with_columns(
        abs_lift=cmp.abs_lift, abs_se=cmp.abs_se, abs_ci_low=cmp.abs_ci_low,
        abs_ci_high=cmp.abs_ci_high, rel_lift=cmp.rel_lift, rel_ci_low=cmp.rel_ci_low,
        rel_ci_high=cmp.rel_ci_high, p_value=cmp.p_value, df=cmp.df,
        variance_reduction=np.nan_to_num(reduction) if cuped else np.zeros(t.height),
        seq_multiplier=mult, seq_ci_low=cmp.abs_lift - mult * cmp.abs_se,
        seq_ci_high=cmp.abs_lift + mult * cmp.abs_se,
        chance_to_beat_control=chance, expected_loss=loss,
    )
