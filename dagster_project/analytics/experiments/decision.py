"""An experiment's progress towards its planned sample, and its decision."""

from __future__ import annotations

import polars as pl

from . import power as pw
from .readout import variant_weights


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
