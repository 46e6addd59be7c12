"""Latency percentiles per endpoint over a recent window against its own baseline.

Per endpoint over the last ``window_days`` days of data (ending at the newest hour) and over
the ``baseline_days`` before them, from the hourly mart (whose p50 is the request-weighted mean
of minute medians, p95 a percentile of minute p95s, p99 their maximum; see
fct_api_performance_hourly): p50 = request-weighted mean of the hourly p50, p95 = the 95th
percentile (linear) of the hourly p95, p99 = the maximum hourly p99 (an upper bound). Percentiles
of percentiles are not the percentiles of the requests; they are what minute-level data allow.

Rule: ratio = window p95 / baseline p95; warning at ``warning_ratio`` (1.5) or above, critical
at ``critical_ratio`` (3.0) or above, else healthy. No baseline rows: ``no_baseline``, health
healthy with a null ratio (nothing to compare with; the percentiles are still reported).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from .status import STATUS_CODES


@dataclass(frozen=True)
class LatencyRules:
    window_days: int = 7
    baseline_days: int = 28
    warning_ratio: float = 1.5
    critical_ratio: float = 3.0

    def __post_init__(self):
        if self.window_days < 1 or self.baseline_days < 1:
            raise ValueError("window_days and baseline_days must be >= 1")
        if not 1 < self.warning_ratio <= self.critical_ratio:
            raise ValueError("need 1 < warning_ratio <= critical_ratio")


def _percentiles(df: pl.DataFrame, suffix: str) -> pl.DataFrame:
    return df.group_by("service", "endpoint").agg(
        pl.col("requests").sum().alias(f"requests{suffix}"),
        ((pl.col("latency_p50_ms") * pl.col("requests")).sum() / pl.col("requests").sum()).alias(f"p50_ms{suffix}"),
        pl.col("latency_p95_ms").quantile(0.95, "linear").alias(f"p95_ms{suffix}"),
        pl.col("latency_p99_ms").max().alias(f"p99_ms{suffix}"))


def endpoint_latency(hourly: pl.DataFrame, rules: LatencyRules = LatencyRules()) -> pl.DataFrame:
    """``hourly``: service, endpoint, hour_at, requests, latency_p50_ms, latency_p95_ms,
    latency_p99_ms. One row per endpoint."""
    end = hourly["hour_at"].max()
    if end is None:
        return pl.DataFrame(schema={"service": pl.String, "endpoint": pl.String})
    start = end - dt.timedelta(days=rules.window_days) + dt.timedelta(hours=1)
    base_start = start - dt.timedelta(days=rules.baseline_days)
    window = _percentiles(hourly.filter(pl.col("hour_at") >= start), "")
    base = _percentiles(hourly.filter((pl.col("hour_at") < start) & (pl.col("hour_at") >= base_start)), "_baseline")
    df = window.join(base, on=["service", "endpoint"], how="left").with_columns(
        (pl.col("p95_ms") / pl.col("p95_ms_baseline")).alias("p95_ratio"))
    df = df.with_columns(
        pl.when(pl.col("p95_ratio") >= rules.critical_ratio).then(pl.lit("critical"))
        .when(pl.col("p95_ratio") >= rules.warning_ratio).then(pl.lit("warning"))
        .otherwise(pl.lit("healthy")).alias("health"),
        pl.when(pl.col("p95_ms_baseline").is_null()).then(pl.lit("no_baseline")).otherwise(pl.lit("ok")).alias("status"),
        pl.lit(start).alias("window_start"), pl.lit(end).alias("window_end"))
    return df.with_columns(pl.col("status").replace_strict(STATUS_CODES, return_dtype=pl.String)
                           .alias("status_message")).select(
        "service", "endpoint", "window_start", "window_end", "requests", "p50_ms", "p95_ms", "p99_ms",
        "requests_baseline", "p50_ms_baseline", "p95_ms_baseline", "p99_ms_baseline", "p95_ratio",
        "health", "status", "status_message").sort("service", "endpoint")
