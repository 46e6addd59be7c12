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
The formulas live in :mod:`experiment_stats`, :mod:`sequential` and :mod:`power`.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from . import experiment_stats as es
from . import power as pw
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
    df = np.where(welch, es.welch_df(g["_vc"], g["var_mean"], g["n_control"], g["n_treatment"]),
                  np.inf)
    cmp = es.compare(g["control_mean"], g["_vc"], g["treatment_mean"], g["var_mean"], g["alpha"], df)
    with np.errstate(invalid="ignore", divide="ignore"):
        reduction = 1 - (g["_vc"] + g["var_mean"]) / (g["_vcr"] + g["var_mean_raw"])
    seq_alpha = g["alpha"] / np.maximum(g["n_arms"] - 1, 1)
    mult = boundary_multiplier(g["n_control"] + g["n_treatment"],
                               g["planned_n_total"] * (g["_wc"] + g["weight"]), seq_alpha)
    chance, loss = es.bayes_normal(cmp.rel_lift, cmp.rel_se)
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


def adjust_pvalues(df: pl.DataFrame, by=("experiment_id",), p_col: str = "p_value") -> pl.DataFrame:
    """Add ``p_holm`` and ``p_bh``: Holm-Bonferroni and Benjamini-Hochberg adjusted p-values
    within each ``by`` group (across its variants and metrics); same values as statsmodels
    ``multipletests(method="holm" | "fdr_bh")``."""
    by = list(by)
    rank = pl.int_range(1, pl.len() + 1).over(by)
    m = pl.len().over(by)
    p = pl.col(p_col)
    return (
        df.with_row_index("_row").sort([*by, p_col])
        .with_columns(p_holm=((m - rank + 1) * p).clip(upper_bound=1.0).cum_max().over(by),
                      p_bh=(m * p / rank).cum_min(reverse=True).over(by).clip(upper_bound=1.0))
        .sort("_row").drop("_row")
    )


def srm(counts: pl.DataFrame, registry: pl.DataFrame, threshold: float = 0.001) -> pl.DataFrame:
    """Per experiment: chi-square of arm counts against the planned weights (``srm_p_value``) and
    ``srm_flag`` (p < threshold). Not applicable (p = 1, no flag) when the primary metric is
    ``signups``: there the arm sizes are the outcome."""
    w = variant_weights(registry).join(counts.select("experiment_id", "variant", "n"),
                                       on=["experiment_id", "variant"], how="left")
    w = w.with_columns(pl.col("n").fill_null(0).cast(pl.Float64))
    total = pl.col("n").sum().over("experiment_id")
    expected = total * pl.col("weight") / pl.col("weight").sum().over("experiment_id")
    out = (w.with_columns(_t=pl.when(expected > 0).then((pl.col("n") - expected) ** 2 / expected)
                          .otherwise(0.0))
           .group_by("experiment_id", maintain_order=True)
           .agg(srm_chi2=pl.col("_t").sum(), _k=(pl.col("weight") > 0).sum()))
    from scipy import stats
    p = stats.chi2.sf(out["srm_chi2"].to_numpy(), np.maximum(out["_k"].to_numpy() - 1, 1))
    out = out.drop("_k").with_columns(srm_p_value=p).join(
        registry.select("experiment_id", "primary_metric"), on="experiment_id")
    applicable = pl.col("primary_metric") != "signups"
    return out.select(
        "experiment_id", srm_applicable=applicable,
        srm_chi2=pl.when(applicable).then("srm_chi2").otherwise(0.0),
        srm_p_value=pl.when(applicable).then("srm_p_value").otherwise(1.0),
        srm_flag=applicable & (pl.col("srm_p_value") < threshold))


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


def decide(results: pl.DataFrame, srm_frame: pl.DataFrame, progress: pl.DataFrame) -> pl.DataFrame:
    """One decision per experiment from its primary metric, first rule that applies:

    1. ``invalid``: sample-ratio mismatch (no ship decision on a broken randomisation);
    2. ``ship``: the always-valid interval of some treatment's lift lies above 0 (the best such
       treatment by lift), valid however often people looked;
    3. ``do not ship``: every treatment's always-valid interval lies below 0 (harm);
    4. ``do not ship``: the experiment ended, or reached its sequential sample, with no
       significant effect (the reason says when it ended short of the planned sample);
    5. ``keep running`` otherwise.

    ``progress``: experiment_id, ended (bool), n_total, sequential_n_total."""
    prim = results.filter("is_primary")
    agg = prim.sort("abs_lift", descending=True).group_by("experiment_id").agg(
        any_win=(pl.col("seq_ci_low") > 0).any(),
        all_harm=(pl.col("seq_ci_high") < 0).all(),
        best=pl.col("variant").filter(pl.col("seq_ci_low") > 0).first(),
        best_lift=pl.col("rel_lift").filter(pl.col("seq_ci_low") > 0).first(),
        metric=pl.col("metric").first())
    d = (progress.join(srm_frame, on="experiment_id", how="left")
         .join(agg, on="experiment_id", how="left")
         .with_columns(pl.col("any_win", "all_harm", "srm_flag").fill_null(False)))
    share = (pl.col("n_total") / pl.col("planned_n_total") * 100).round(0).cast(pl.Int64).cast(pl.String)
    rules = (
        pl.when("srm_flag").then(pl.lit("invalid"))
        .when("any_win").then(pl.lit("ship"))
        .when("all_harm").then(pl.lit("do not ship"))
        .when(pl.col("ended") | (pl.col("n_total") >= pl.col("sequential_n_total")))
        .then(pl.lit("do not ship")).otherwise(pl.lit("keep running")))
    reason = (
        pl.when("srm_flag").then(pl.format("sample ratio mismatch (chi-square p = {}); check the "
                                           "assignment before reading any effect",
                                           pl.col("srm_p_value").round_sig_figs(3)))
        .when("any_win").then(pl.format("{} beats control on {} by {}% (always-valid interval "
                                        "above 0)", "best", "metric",
                                        (pl.col("best_lift") * 100).round(1)))
        .when("all_harm").then(pl.format("every treatment is worse than control on {} "
                                         "(always-valid interval below 0)", "metric"))
        .when(pl.col("ended") & (pl.col("n_total") < pl.col("planned_n_total")))
        .then(pl.format("ended at {}% of the planned sample without a significant effect "
                        "(underpowered for the MDE)", share))
        .when("ended").then(pl.lit("ended without a significant effect of the planned size"))
        .when(pl.col("n_total") >= pl.col("sequential_n_total"))
        .then(pl.lit("reached the sequential sample without a significant effect"))
        .otherwise(pl.format("{}% of the planned sample, no significant effect yet", share)))
    return d.select("experiment_id", decision=rules, decision_reason=reason,
                    winning_variant=pl.when("any_win").then("best"))


def progress(registry: pl.DataFrame, daily: pl.DataFrame, plan: pl.DataFrame,
             rate_days: int = 7) -> pl.DataFrame:
    """Per experiment: current sample, power now, recent daily rate and expected days left.

    ``as_of`` is the last day in ``daily`` (all experiments); an experiment has ``ended`` when its
    ``end_at`` is at or before the end of that day. ``power_now``: power of the fixed test to
    detect the planned MDE with the current arm sizes (smallest treatment arm). Days left: the
    missing units over the mean daily new units of the last ``rate_days`` days with data (null
    when nothing arrives)."""
    as_of = daily["date_day"].max() if daily.height else None
    latest = daily.filter(pl.col("date_day") == pl.col("date_day").max().over("experiment_id"))
    w = variant_weights(registry)
    arms = w.join(latest.select("experiment_id", "variant", "n"), on=["experiment_id", "variant"],
                  how="left").with_columns(pl.col("n").fill_null(0).cast(pl.Float64))
    cur = arms.group_by("experiment_id").agg(
        n_total=pl.col("n").sum(), n_control=pl.col("n").filter("is_control").first(),
        n_smallest_treatment=pl.col("n").filter(~pl.col("is_control")).min())
    recent = (daily.filter(pl.col("date_day") > pl.col("date_day").max().over("experiment_id")
                           - pl.duration(days=rate_days))
              .group_by("experiment_id").agg(
                  daily_rate=pl.col("new_units").sum() / pl.col("date_day").n_unique()))
    out = (plan.join(cur, on="experiment_id", how="left").join(recent, on="experiment_id", how="left")
           .join(registry.select("experiment_id", "end_at"), on="experiment_id", how="left"))
    power_now = pw.power_from_effect(out["standardized_effect"].to_numpy(),
                                     out["n_control"].fill_null(0).to_numpy(),
                                     out["n_smallest_treatment"].fill_null(0).to_numpy(),
                                     out["alpha"].to_numpy(), out["n_arms"].to_numpy())
    ended = (pl.col("end_at").cast(pl.Date) <= pl.lit(as_of) + pl.duration(days=1)
             if as_of is not None else pl.lit(False))
    rate = pl.when(pl.col("daily_rate") > 0).then("daily_rate")

    def days_left(target: str) -> pl.Expr:
        return ((pl.col(target) - pl.col("n_total")).clip(lower_bound=0) / rate).ceil()

    return out.with_columns(power_now=power_now).select(
        "experiment_id", "primary_metric", "metric_type", "alpha", "power", "mde", "baseline",
        "baseline_sd", "n_arms", "planned_n_control", "planned_n_total", "sequential_n_total",
        pl.col("n_total").fill_null(0.0), pl.col("n_control").fill_null(0.0),
        (pl.col("n_total").fill_null(0.0) / pl.col("planned_n_total")).alias("share_of_planned"),
        "power_now", "daily_rate",
        days_left("planned_n_total").alias("expected_days_left"),
        days_left("sequential_n_total").alias("expected_days_left_sequential"),
        ended.fill_null(False).alias("ended"), pl.lit(as_of, pl.Date).alias("as_of"),
    )
