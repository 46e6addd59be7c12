"""Automation efficiency: manual work saved per client, feature and platform, and its value.

hours_saved = sum of the uses' ``time_saved_minutes`` / 60 (the platform's own estimate per
use, marts.fct_feature_time_saved_daily); value = hours_saved x ``hourly_rate`` (the client's
cost of an hour of social-media work, configurable; USD). Per client also the share of each
feature x platform in the client's saved hours. Saved time is an estimate of the feature's
designers, not a measurement, which the column descriptions say.
"""

from __future__ import annotations

import polars as pl


def automation_savings(time_saved: pl.DataFrame, hourly_rate: float) -> pl.DataFrame:
    """``time_saved``: client_id, feature_name, platform, uses, time_saved_minutes (any grain
    finer than client x feature x platform, e.g. days)."""
    if not hourly_rate > 0:
        raise ValueError(f"hourly_rate must be > 0, got {hourly_rate}")
    keys = ["client_id", "feature_name", "platform"]
    df = time_saved.group_by(keys).agg(pl.col("uses").sum(), (pl.col("time_saved_minutes").sum() / 60).alias("hours_saved"))
    return df.with_columns(
        (pl.col("hours_saved") * hourly_rate).alias("value_saved"),
        pl.lit(float(hourly_rate)).alias("hourly_rate"),
        pl.when(pl.col("hours_saved").sum().over("client_id") > 0)
        .then(pl.col("hours_saved") / pl.col("hours_saved").sum().over("client_id")).otherwise(None)
        .alias("share_of_client_hours")).sort(keys)
