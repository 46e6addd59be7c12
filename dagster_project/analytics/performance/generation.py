"""Content-generation success rate and duration, per client and for the platform.

Over the last ``window_days`` days of data (by job start): jobs, succeeded, failed, timed out,
success rate = succeeded / jobs with the Wilson score interval, mean duration of finished jobs
(timed-out jobs have no finish time; the daily mart's mean is weighted by the finished jobs of
each day, succeeded + failed). Rule, on the interval (not the point estimate, so a small client
is not flagged by noise): critical when the upper bound is below ``critical_success_rate`` (0.8),
warning when below ``warning_success_rate`` (0.9), else healthy. The platform row has
client_id null. Wilson: :func:`dagster_project.analytics.usage.adoption.wilson_interval`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from scipy import stats

from ..usage.adoption import wilson_interval
from ..usage.status import with_status
from .status import STATUS_CODES


@dataclass(frozen=True)
class GenerationRules:
    window_days: int = 7
    warning_success_rate: float = 0.9
    critical_success_rate: float = 0.8
    level: float = 0.95

    def __post_init__(self):
        if not 0 < self.critical_success_rate <= self.warning_success_rate < 1:
            raise ValueError("need 0 < critical_success_rate <= warning_success_rate < 1")
        if self.window_days < 1 or not 0 < self.level < 1:
            raise ValueError("window_days must be >= 1 and level in (0, 1)")


def generation_performance(daily: pl.DataFrame, rules: GenerationRules = GenerationRules()) -> pl.DataFrame:
    """``daily``: client_id, job_date, jobs, succeeded_jobs, failed_jobs, timeout_jobs,
    avg_duration_seconds. One row per client and one for the platform (client_id null)."""
    z = float(stats.norm.ppf(0.5 + rules.level / 2))
    end = daily["job_date"].max()
    recent = daily.filter(pl.col("job_date") > end - dt.timedelta(days=rules.window_days)) if end else daily
    recent = recent.with_columns((pl.col("succeeded_jobs") + pl.col("failed_jobs")).alias("_finished"))
    aggs = [pl.col("jobs", "succeeded_jobs", "failed_jobs", "timeout_jobs").sum(),
            ((pl.col("avg_duration_seconds") * pl.col("_finished")).sum()
             / pl.col("_finished").filter(pl.col("avg_duration_seconds").is_not_null()).sum())
            .alias("mean_duration_seconds")]
    per_client = recent.group_by("client_id").agg(*aggs)
    platform = recent.select(*aggs).with_columns(pl.lit(None, dtype=pl.String).alias("client_id"))
    df = pl.concat([per_client, platform.select(per_client.columns)])
    lo, hi = wilson_interval(pl.col("succeeded_jobs").cast(pl.Float64), pl.col("jobs").cast(pl.Float64), z)
    df = df.with_columns((pl.col("succeeded_jobs") / pl.col("jobs")).alias("success_rate"),
                         lo.alias("success_low"), hi.alias("success_high")).with_columns(
        pl.when(pl.col("success_high") < rules.critical_success_rate).then(pl.lit("critical"))
        .when(pl.col("success_high") < rules.warning_success_rate).then(pl.lit("warning"))
        .otherwise(pl.lit("healthy")).alias("health"),
        pl.lit(end).alias("window_end"))
    df = with_status(df, [(pl.col("jobs") <= 0, "no_jobs")], ["success_rate", "success_low", "success_high"],
                     codes=STATUS_CODES)
    return df.select("client_id", "window_end", "jobs", "succeeded_jobs", "failed_jobs", "timeout_jobs",
                     "success_rate", "success_low", "success_high", "mean_duration_seconds", "health",
                     "status", "status_message").sort("client_id", nulls_last=True)
