"""Evidence of the usage insights: the top revenue platform, engagement trends, automation
savings (analytics.usage_platform_summary, usage_platform_trends, automation_savings).

Each function returns one row per insight with ``client_id``, ``subject``, ``confidence``,
``money_impact`` and the columns the kind's templates name (``insight_kinds.yml``); rows that
lack the evidence the table asks for are not returned.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from .names import channel_name

OK = pl.col("status") == "ok"


def top_revenue_platform(summary: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """The platform whose 95% bootstrap interval of credited revenue lies above every other
    platform's (``top_platform_separated``); confidence = revenue_lower / revenue."""
    rows = summary.filter(OK & pl.col("is_top_revenue_platform") & pl.col("top_platform_separated")
                          & (pl.col("attributed_revenue") >= minimums.get("revenue", 0.0)))
    return rows.select(
        "client_id", pl.col("platform").alias("subject"), channel_name("platform").alias("platform_name"),
        pl.col("attributed_revenue").alias("revenue"), "revenue_lower", "revenue_upper",
        (pl.col("revenue_lower") / pl.col("attributed_revenue")).clip(0.0, 1.0).alias("confidence"),
        pl.col("attributed_revenue").alias("money_impact"))


def _t_confidence(slope: pl.Series, se: pl.Series, weeks: pl.Series) -> pl.Series:
    """1 - the two-sided p-value of slope / se with weeks - 2 degrees of freedom."""
    p = 2 * stats.t.sf(np.abs(slope.to_numpy() / se.to_numpy()), weeks.to_numpy() - 2)
    return pl.Series(1.0 - p)


def engagement_trends(trends: pl.DataFrame, minimums: dict[str, float], rising: bool) -> pl.DataFrame:
    """Client x platform engagement-rate trends whose relative slope's 95% interval excludes 0
    on the ``rising`` (or falling) side; weekly_change is the relative slope's magnitude."""
    side = pl.col("relative_slope_low") > 0 if rising else pl.col("relative_slope_high") < 0
    rows = trends.filter(OK & (pl.col("metric") == "engagement_rate") & side
                         & (pl.col("weeks") >= minimums.get("weeks", 0)) & (pl.col("slope_se") > 0))
    low, high = ("relative_slope_low", "relative_slope_high") if rising else ("relative_slope_high", "relative_slope_low")
    sign = 1.0 if rising else -1.0
    return rows.select(
        "client_id", pl.col("platform").alias("subject"), channel_name("platform").alias("platform_name"),
        (sign * pl.col("relative_slope")).alias("weekly_change"), (sign * pl.col(low)).alias("change_low"),
        (sign * pl.col(high)).alias("change_high"), pl.col("weeks").cast(pl.Int64),
        pl.struct("slope", "slope_se", "weeks").map_batches(
            lambda s: _t_confidence(s.struct.field("slope"), s.struct.field("slope_se"),
                                    s.struct.field("weeks").cast(pl.Float64)),
            return_dtype=pl.Float64).alias("confidence"),
        pl.lit(None, pl.Float64).alias("money_impact"))


def automation_savings(savings: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """Per client: hours saved and their value over features and platforms, the feature that
    saved most and its share; confidence = uses / (uses + 10)."""
    by_feature = savings.group_by("client_id", "feature_name").agg(pl.col("hours_saved").sum())
    top = by_feature.sort("hours_saved", "feature_name", descending=[True, False]).group_by(
        "client_id", maintain_order=True).first().select(
        "client_id", pl.col("feature_name").str.replace_all("_", " ").alias("top_feature"),
        pl.col("hours_saved").alias("_top_hours"))
    totals = savings.group_by("client_id").agg(pl.col("uses").sum(), pl.col("hours_saved").sum(),
                                                pl.col("value_saved").sum())
    rows = totals.join(top, on="client_id").filter(
        (pl.col("uses") >= minimums.get("uses", 0)) & (pl.col("hours_saved") > 0))
    return rows.select(
        "client_id", pl.lit("automation").alias("subject"), "hours_saved", "value_saved", "uses", "top_feature",
        (pl.col("_top_hours") / pl.col("hours_saved")).alias("top_share"),
        (pl.col("uses") / (pl.col("uses") + 10.0)).alias("confidence"),
        pl.col("value_saved").alias("money_impact"))
