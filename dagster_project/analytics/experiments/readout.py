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
``conversion`` proportion of converted units; ``revenue_14d`` mean of y, CUPED-adjusted on x
(theta from each treatment-control pair's pooled sums, relative lift over the control's
unadjusted mean: gbstats' convention, :func:`.estimates.cuped_lift`);
``revenue_per_converter`` ratio sum(y) / sum(converted) by the delta method (needs sum_yc);
``signups`` arrivals per unit of allocation weight (for price tests whose outcome is the number
of sign-ups in each arm; no SRM test there, the count *is* the effect).
The formulas live in :mod:`.estimates`, :mod:`.comparison`, :mod:`.bayes`, :mod:`.sequential`
and :mod:`.power`; sample planning in :mod:`.planning`, decisions in :mod:`.decision`. Every
output row carries a status (:mod:`.status`, checks in :mod:`.validity`): statistics are null
unless it is ``ok``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import estimates as es
from .bayes import posterior
from .comparison import compare_moments, plain_moments, welch_df
from .sequential import always_valid_p_value, boundary_multiplier
from .status import OK, STATUS_CODES, combine, null_unless_ok
from .validity import arm_status

METRIC_TYPES = {"conversion": "proportion", "revenue_14d": "mean",
                "revenue_per_converter": "ratio", "signups": "count"}
PRIMARY_METRICS = ("conversion", "revenue_14d", "signups")  # computable from daily statistics
DEFAULT_SECONDARY = {"conversion": ["revenue_14d", "revenue_per_converter"],
                     "revenue_14d": ["conversion"], "signups": ["revenue_14d"]}
STAT_COLUMNS = ("n", "n_converted", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy", "sum_yc")
CUPED_SUMS = ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")
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
    defaults = pl.DataFrame({"primary_metric": list(DEFAULT_SECONDARY),
                             "_default": list(DEFAULT_SECONDARY.values())})
    r = (registry.select("experiment_id", "primary_metric", _listed=pl.col("secondary_metrics")
                         .cast(pl.String).str.json_decode(pl.List(pl.String)))
         .join(defaults, on="primary_metric", how="left", maintain_order="left"))
    secondary = (r.select("experiment_id", "primary_metric",
                          metric=pl.coalesce("_listed", "_default"))
                 .explode("metric").filter(pl.col("metric").is_not_null(),
                                           pl.col("metric") != pl.col("primary_metric")))
    return pl.concat([
        r.select("experiment_id", metric="primary_metric", is_primary=pl.lit(True)),
        secondary.select("experiment_id", "metric", is_primary=pl.lit(False)),
    ]).sort("experiment_id", pl.col("is_primary").not_(), maintain_order=True)


def _experiment_settings(registry: pl.DataFrame) -> pl.DataFrame:
    """alpha and the prior of each experiment (prior columns null when the registry has none)."""
    cols = [c for c in ("prior_mean", "prior_sd") if c not in registry.columns]
    return registry.with_columns([pl.lit(None, pl.Float64).alias(c) for c in cols]).select(
        "experiment_id", pl.col("alpha", "prior_mean", "prior_sd").cast(pl.Float64))


def arm_estimates(arm_stats: pl.DataFrame, registry: pl.DataFrame,
                  keys=("experiment_id",)) -> pl.DataFrame:
    """One row per ``keys`` x arm x metric: ``mean``, ``var_mean`` (squared standard error,
    unadjusted) and ``arm_status`` / ``arm_status_message`` (:mod:`.validity`).

    Arms are the registered ones of every key group (every registered experiment when ``keys``
    is experiment_id alone, else the key groups present in ``arm_stats``) and every arm with
    data: a registered arm without data is kept as ``missing_arm``, data in a variant (or
    experiment) that is not registered as ``unknown_variant`` (``unknown_experiment``), so
    nothing is dropped silently. Also carried for :func:`compare_to_control`: the CUPED sums of
    mean metrics (n, sum_y, sum_y2, sum_x, sum_x2, sum_xy), weight, n_arms and the experiment's
    alpha, prior_mean and prior_sd. Statistics are not filled in: a null stays a null."""
    keys = list(keys)
    stats = arm_stats.select(*keys, "variant", *[pl.col(c).cast(pl.Float64) if c in arm_stats.columns
                                                 else pl.lit(None, pl.Float64).alias(c)
                                                 for c in STAT_COLUMNS])
    arms = variant_weights(registry)
    groups = stats.select(keys).unique()
    if keys == ["experiment_id"]:
        groups = pl.concat([groups, registry.select("experiment_id")]).unique()
    registered_names = arms.group_by("experiment_id").agg(
        registered_variants=pl.col("variant").str.join(", "))
    expected = groups.join(arms.select("experiment_id", "variant", "weight", "is_control", "n_arms"),
                           on="experiment_id").with_columns(_registered=pl.lit(True))
    s = (expected.join(stats.with_columns(_observed=pl.lit(True)), on=[*keys, "variant"],
                       how="full", coalesce=True)
         .with_columns(pl.col("_registered", "_observed").fill_null(False),
                       _known_experiment=pl.col("experiment_id").is_in(
                           registry["experiment_id"].implode()))
         .join(registered_names, on="experiment_id", how="left")
         .join(experiment_metrics(registry), on="experiment_id", how="left")
         .join(_experiment_settings(registry), on="experiment_id", how="left")
         .with_columns(metric_type=pl.col("metric").replace_strict(METRIC_TYPES, default="unknown"),
                       is_primary=pl.col("is_primary").fill_null(False)))
    s = arm_status(s)
    a = {c: s[c].fill_null(np.nan).to_numpy() for c in (*STAT_COLUMNS, "weight")}
    kind = s["metric_type"].to_numpy()
    m, v, _ = es.mean_estimate(a["n"], a["sum_y"], a["sum_y2"])
    p, vp = es.proportion_estimate(a["n"], a["n_converted"])
    # converted is 0/1, so sum(c^2) = n_converted
    r, vr = es.ratio_estimate(a["n"], a["sum_y"], a["sum_y2"], a["n_converted"], a["n_converted"],
                              a["sum_yc"])
    with np.errstate(invalid="ignore", divide="ignore"):
        k, vk = es.count_estimate(a["n"], a["weight"])
    kinds = [kind == "mean", kind == "proportion", kind == "ratio", kind == "count"]
    return s.select(
        *keys, "variant", "is_control", "weight", "n_arms", "metric", "is_primary", "metric_type",
        *CUPED_SUMS, "alpha", "prior_mean", "prior_sd", "arm_status", "arm_status_message",
    ).with_columns(mean=np.select(kinds, [m, p, r, k], np.nan),
                   var_mean=np.select(kinds, [v, vp, vr, vk], np.nan)).with_columns(
        null_unless_ok(["mean", "var_mean"], "arm_status"))


RESULT_STATS = ("control_mean", "treatment_mean", "abs_lift", "abs_se", "abs_ci_low",
                "abs_ci_high", "rel_lift", "rel_se", "rel_ci_low", "rel_ci_high", "p_value", "df",
                "variance_reduction", "cuped_theta", "seq_multiplier", "seq_ci_low", "seq_ci_high",
                "seq_rel_ci_low", "seq_rel_ci_high", "seq_p_value", "seq_p_value_rel",
                "chance_to_beat_control", "risk_control", "risk_treatment", "credible_low",
                "credible_high")


def _setting_status(t: pl.DataFrame) -> pl.DataFrame:
    """Experiment-level statuses of a comparison: alpha, prior and planned sample."""
    alpha_ok = (pl.col("alpha") > 0) & (pl.col("alpha") < 1)
    prior_ok = (pl.col("prior_mean").is_null() & pl.col("prior_sd").is_null()) | (
        pl.col("prior_mean").is_finite() & pl.col("prior_sd").is_finite() & (pl.col("prior_sd") > 0))
    plan_ok = (pl.col("_plan_status") == OK) & (pl.col("planned_n_total") > 0)
    return t.with_columns(
        _status_a=pl.when(~alpha_ok.fill_null(False)).then(pl.lit("invalid_alpha")),
        _msg_a=pl.format("alpha = {} is not in (0, 1)", pl.col("alpha")),
        _status_b=pl.when(~prior_ok.fill_null(False)).then(pl.lit("invalid_prior")),
        _msg_b=pl.format("prior mean {} and sd {}: {}", pl.col("prior_mean"), pl.col("prior_sd"),
                         pl.lit(STATUS_CODES["invalid_prior"])),
        _status_p=pl.when(~plan_ok.fill_null(False)).then(pl.lit("no_plan")),
        _msg_p=pl.format("no planned sample ({}): {}", pl.col("_plan_status").fill_null("none"),
                         pl.lit(STATUS_CODES["no_plan"])),
    )


def compare_to_control(estimates: pl.DataFrame, plan: pl.DataFrame, keys=("experiment_id",),
                       cuped: bool = True) -> pl.DataFrame:
    """Each treatment against the control of its experiment (per ``keys`` x metric).

    Columns: the arms' means (unadjusted); the fixed-horizon lift, absolute and relative, with
    CIs at the experiment's alpha and p-values (Welch df for means, normal otherwise); for
    revenue_14d with ``cuped``, the CUPED-adjusted lift (:func:`.estimates.cuped_lift`, theta
    from the pooled sums of the treatment and the control, one theta per pair), its
    ``cuped_theta`` and ``variance_reduction``; the always-valid interval of the absolute and
    relative lift (normal mixture tuned at the planned sample, level alpha / (k - 1) for k arms)
    and its always-valid p-values (``min(1, (k - 1) / M_n)``); the Bayesian posterior of the
    relative lift (registry prior, flat when absent): chance to beat control, the risk of each
    choice, the credible interval at the experiment's alpha.

    ``status`` / ``status_message``: ``ok``, or the first problem of the treatment arm, the
    control arm, the experiment's settings (alpha, prior, planned sample) or the comparison
    (zero baseline, zero variance); every statistic of a non-ok row is null. Treatments
    include unregistered variants (``unknown_variant``) and registered arms without data."""
    keys = list(keys)
    on = [*keys, "metric"]
    is_control = pl.col("is_control").fill_null(False)
    ctrl = estimates.filter(is_control).select(
        *on, n_control="n", control_mean="mean", _vc="var_mean", _wc="weight",
        _status_c="arm_status", _msg_c="arm_status_message",
        **{f"_{c}_c": c for c in CUPED_SUMS[1:]})
    t = (estimates.filter(~is_control).rename({"n": "n_treatment", "mean": "treatment_mean",
                                               "var_mean": "_vt"})
         .join(ctrl, on=on, how="left")
         .join(plan.select("experiment_id", "planned_n_total", _plan_status="status"),
               on="experiment_id", how="left"))
    t = _setting_status(t)
    g = {c: t[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in (
        "control_mean", "_vc", "treatment_mean", "_vt", "n_control", "n_treatment", "alpha",
        "planned_n_total", "_wc", "weight", "n_arms", "prior_mean", "prior_sd",
        *[f"_{c}_c" for c in CUPED_SUMS[1:]], *CUPED_SUMS[1:])}
    alpha = np.where((g["alpha"] > 0) & (g["alpha"] < 1), g["alpha"], 0.05)
    ctrl_sums = [g["n_control"], *[g[f"_{c}_c"] for c in CUPED_SUMS[1:]]]
    trt_sums = [g["n_treatment"], *[g[c] for c in CUPED_SUMS[1:]]]
    adjusted = (t["metric_type"] == "mean").to_numpy() & cuped
    theta = np.where(adjusted, es.cuped_theta(*[c + u for c, u in zip(ctrl_sums, trt_sums)]), 0.0)
    lift = es.cuped_lift(ctrl_sums, trt_sums, theta)
    d, v, r, vr = plain_moments(g["control_mean"], g["_vc"], g["treatment_mean"], g["_vt"])
    d, r, var_c, var_t = (np.where(adjusted, a, b) for a, b in (
        (lift.abs_lift, d), (lift.rel_lift, r), (lift.var_mean_c, g["_vc"]),
        (lift.var_mean_t, g["_vt"])))
    v_adj, vr = np.where(adjusted, lift.abs_var, v), np.where(adjusted, lift.rel_var, vr)
    df = np.where((t["metric_type"] == "mean").to_numpy(),
                  welch_df(var_c, var_t, g["n_control"], g["n_treatment"]), np.inf)
    cmp = compare_moments(d, v_adj, r, vr, g["control_mean"], var_c, var_t, alpha, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        reduction = np.where(adjusted, 1 - v_adj / v, 0.0)
    comparisons = np.where(g["n_arms"] >= 2, g["n_arms"] - 1, 1.0)
    seq_alpha = alpha / comparisons
    n = g["n_control"] + g["n_treatment"]
    tuning = g["planned_n_total"] * (g["_wc"] + g["weight"])
    tuning = np.where(np.isfinite(tuning) & (tuning > 0), tuning, 1.0)
    mult = boundary_multiplier(n, tuning, seq_alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        seq_p = always_valid_p_value(cmp.abs_lift / cmp.abs_se, n, tuning, seq_alpha, comparisons)
        seq_p_rel = always_valid_p_value(cmp.rel_lift / cmp.rel_se, n, tuning, seq_alpha,
                                         comparisons)
    proper = (g["prior_sd"] > 0) & np.isfinite(g["prior_mean"])
    post = posterior(cmp.rel_lift, cmp.rel_se, np.where(proper, g["prior_mean"], np.nan),
                     np.where(proper, g["prior_sd"], np.nan), alpha)
    status, message = combine(["arm_status", "_status_c", "_status_a", "_status_b", "_cmp_status",
                               "_status_p"],
                              ["arm_status_message", "_msg_c", "_msg_a", "_msg_b", "_cmp_message",
                               "_msg_p"])
    out = t.with_columns(
        _cmp_status=pl.Series(cmp.status, dtype=pl.String),
        _cmp_message=pl.Series(cmp.status_message, dtype=pl.String),
        _status_c=pl.col("_status_c").fill_null(pl.lit("missing_arm")),
        _msg_c=pl.col("_msg_c").fill_null(pl.lit("the experiment has no control for this metric")),
    ).with_columns(status=status, status_message=message).with_columns(
        abs_lift=cmp.abs_lift, abs_se=cmp.abs_se, abs_ci_low=cmp.abs_ci_low,
        abs_ci_high=cmp.abs_ci_high, rel_lift=cmp.rel_lift, rel_se=cmp.rel_se,
        rel_ci_low=cmp.rel_ci_low, rel_ci_high=cmp.rel_ci_high, p_value=cmp.p_value, df=cmp.df,
        variance_reduction=reduction, cuped_theta=theta, seq_multiplier=mult,
        seq_ci_low=cmp.abs_lift - mult * cmp.abs_se, seq_ci_high=cmp.abs_lift + mult * cmp.abs_se,
        seq_rel_ci_low=cmp.rel_lift - mult * cmp.rel_se,
        seq_rel_ci_high=cmp.rel_lift + mult * cmp.rel_se,
        seq_p_value=seq_p, seq_p_value_rel=seq_p_rel,
        chance_to_beat_control=post.chance_to_win, risk_control=post.risk_control,
        risk_treatment=post.risk_treatment, credible_low=post.ci_low, credible_high=post.ci_high,
    )
    return out.select(*on, "variant", "metric_type", "is_primary", "n_control", "n_treatment",
                      *RESULT_STATS, "status", "status_message").sort(
        *keys, pl.col("is_primary").not_(), "metric", "variant", nulls_last=True).with_columns(
        [pl.col(c).fill_nan(None) for c in RESULT_STATS]).with_columns(
        null_unless_ok(list(RESULT_STATS)))
