"""An experiment's progress towards its planned sample, and its decision."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import power as pw
from .readout import variant_weights
from .status import OK


def decide(results: pl.DataFrame, srm_frame: pl.DataFrame, progress: pl.DataFrame) -> pl.DataFrame:
    """One decision per experiment of ``progress`` from its primary metric, first rule that applies:

    1. ``cannot decide``: a comparison of the primary metric is not ``ok`` (its status message is
       the reason), or the experiment has no primary comparison at all;
    2. ``invalid``: sample-ratio mismatch (no ship decision on a broken randomisation);
    3. ``ship``: the always-valid interval of some treatment's lift lies above 0 (the best such
       treatment by lift), valid however often people looked;
    4. ``do not ship``: every treatment's always-valid interval lies below 0 (harm);
    5. ``do not ship``: the experiment ended, or reached its sequential sample, with no
       significant effect (the reason says when it ended short of the planned sample);
    6. ``keep running`` otherwise.

    ``results``: experiment_id, metric, variant, is_primary, status, status_message, abs_lift,
    rel_lift, seq_ci_low, seq_ci_high. ``progress``: experiment_id, ended (bool), n_total,
    planned_n_total, sequential_n_total."""
    prim = results.filter("is_primary")
    ok = pl.col("status") == OK
    win = ok & (pl.col("seq_ci_low") > 0)
    agg = prim.sort("abs_lift", descending=True, nulls_last=True).group_by("experiment_id").agg(
        n_primary=pl.len(),
        not_ok=pl.format("{} on {}: {}", "variant", "metric", "status_message").filter(~ok).first(),
        any_win=win.any(),
        all_harm=(ok & (pl.col("seq_ci_high") < 0)).all(),
        best=pl.col("variant").filter(win).first(),
        best_lift=pl.col("rel_lift").filter(win).first(),
        metric=pl.col("metric").first())
    d = (progress.join(srm_frame, on="experiment_id", how="left")
         .join(agg, on="experiment_id", how="left")
         .with_columns(pl.col("any_win", "all_harm", "srm_flag").fill_null(False),
                       cannot=pl.col("not_ok").is_not_null() | pl.col("n_primary").is_null()))
    share = (pl.col("n_total") / pl.col("planned_n_total") * 100).round(0).cast(pl.Int64).cast(pl.String)
    rules = (
        pl.when("cannot").then(pl.lit("cannot decide"))
        .when("srm_flag").then(pl.lit("invalid"))
        .when("any_win").then(pl.lit("ship"))
        .when("all_harm").then(pl.lit("do not ship"))
        .when(pl.col("ended") | (pl.col("n_total") >= pl.col("sequential_n_total")))
        .then(pl.lit("do not ship")).otherwise(pl.lit("keep running")))
    reason = (
        pl.when("cannot").then(pl.coalesce("not_ok", pl.lit("no comparison of the primary metric")))
        .when("srm_flag").then(pl.format("sample ratio mismatch (chi-square p = {}); check the "
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
                    winning_variant=pl.when(~pl.col("cannot") & ~pl.col("srm_flag")
                                            & pl.col("any_win")).then("best"))


def _current_power(out: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Power now to detect the planned MDE, and the relative MDE detectable now, with the
    current control and smallest treatment arms (same tests as the plan); NaN unless the plan
    is ok and every arm has at least 2 units."""
    def col(c, fill):
        return out[c].cast(pl.Float64).fill_null(fill).to_numpy()

    usable = ((out["status"] == OK) & (out["n_control"].fill_null(0) >= 2)
              & (out["n_smallest_treatment"].fill_null(0) >= 2)).to_numpy()
    kind = out["metric_type"].to_numpy()
    n_c = np.where(usable, col("n_control", 2.0), 2.0)
    n_t = np.where(usable, col("n_smallest_treatment", 2.0), 2.0)
    alpha, power_ = np.where(usable, col("alpha", 0.05), 0.05), np.where(usable, col("power", 0.8), 0.8)
    k = np.where(usable, col("n_arms", 2.0), 2.0)
    t_test = kind == "mean"
    power_now = pw.power_from_effect(col("standardized_effect", 0.0), n_c, n_t, alpha, k,
                                     t_test=t_test)
    effect = pw.minimum_detectable_effect(n_c, alpha, power_, k, ratio=n_t / n_c, t_test=t_test)
    base, sd = col("baseline", np.nan), col("baseline_sd", np.nan)
    relative = np.select([kind == "proportion", kind == "count"],
                         [pw.relative_effect("proportion", base, effect),
                          pw.relative_effect("count", base, effect)],
                         pw.relative_effect("mean", base, effect, sd))
    return np.where(usable, power_now, np.nan), np.where(usable, relative, np.nan)


def progress(registry: pl.DataFrame, daily: pl.DataFrame, plan: pl.DataFrame,
             rate_days: int = 7) -> pl.DataFrame:
    """Per experiment: current sample, power now, the MDE detectable now, recent daily rate and
    expected days left.

    ``as_of`` is the last day in ``daily`` (all experiments); an experiment has ``ended`` when its
    ``end_at`` is at or before the end of that day (``end_at <= as_of + 1 day`` at midnight, so
    an end at 2025-02-20 12:00 has ended as of 2025-02-20, not as of 2025-02-19). ``power_now``:
    power of the fixed test to detect the planned MDE with the current arm sizes (control and
    smallest treatment arm); ``mde_now``: the relative lift that test detects with the planned
    power now; both null unless the plan's status is ok and every arm has 2 units. Days left: the
    missing units over the mean daily new units of the last ``rate_days`` days with data (null
    when nothing arrives). ``status`` and ``status_message`` are the plan's."""
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
    power_now, mde_now = _current_power(out)
    end_of_day = pl.lit(as_of).cast(pl.Datetime("us")) + pl.duration(days=1)
    ended = pl.col("end_at") <= end_of_day if as_of is not None else pl.lit(False)
    rate = pl.when(pl.col("daily_rate") > 0).then("daily_rate")

    def days_left(target: str) -> pl.Expr:
        return ((pl.col(target) - pl.col("n_total")).clip(lower_bound=0) / rate).ceil()

    return out.with_columns(power_now=power_now, mde_now=mde_now).with_columns(
        pl.col("power_now", "mde_now").fill_nan(None)).select(
        "experiment_id", "primary_metric", "metric_type", "alpha", "power", "mde", "baseline",
        "baseline_sd", "n_arms", "planned_n_control", "planned_n_total", "sequential_n_total",
        pl.col("n_total").fill_null(0.0), pl.col("n_control").fill_null(0.0),
        (pl.col("n_total").fill_null(0.0) / pl.col("planned_n_total")).alias("share_of_planned"),
        "power_now", "mde_now", "daily_rate",
        days_left("planned_n_total").alias("expected_days_left"),
        days_left("sequential_n_total").alias("expected_days_left_sequential"),
        ended.fill_null(False).alias("ended"), pl.lit(as_of, pl.Date).alias("as_of"),
        "status", "status_message",
    )
