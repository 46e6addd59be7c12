"""What each platform gives a client: posts, engagement rate, attributed revenue, their trends.

Per client x platform over the panel's full weeks: posts published, impressions, engagements,
the engagement rate (engagements / impressions; ``no_impressions`` when there are none), the
revenue credited to the platform by the client's recommended attribution model
(analytics.attribution_model_comparison) with that model's 95% bootstrap interval, the
platform's share of the client's platform revenue and its rank. ``top_platform_separated``
marks the top-revenue platform whose interval lies wholly above every other platform's: the
claim "X is your highest-revenue platform" is then backed by the intervals (false without
intervals, e.g. when the attribution ran without bootstrap resamples).

Trends (:func:`.trends.weekly_trends`) of weekly posts, engagement rate (weeks with
impressions) and attributed revenue, one row per client x platform x metric.
"""

from __future__ import annotations

import polars as pl

from .status import with_status
from .trends import weekly_trends

TREND_METRICS = ("posts", "engagement_rate", "attributed_revenue")


def platform_summary(panel: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    """``panel`` from :func:`.panels.weekly_panel`; ``totals``: client_id, platform,
    attribution_model, attributed_revenue, revenue_lower, revenue_upper."""
    keys = ["client_id", "platform"]
    sums = panel.group_by(keys).agg(pl.len().alias("weeks"), pl.col("posts").sum(),
                                    pl.col("impressions").sum(), pl.col("engagements").sum())
    credited = totals.with_columns(pl.lit(True).alias("_credited"))
    df = sums.join(credited, on=keys, how="full", coalesce=True).with_columns(
        pl.col("weeks", "posts", "impressions", "engagements").fill_null(0),
        pl.col("attributed_revenue").fill_null(0.0),
        # a platform the attribution never credited has 0 in every resample too
        *[pl.when(pl.col("_credited").is_null()).then(0.0).otherwise(pl.col(c)).alias(c)
          for c in ("revenue_lower", "revenue_upper")],
        pl.col("attribution_model").fill_null(pl.col("attribution_model").drop_nulls().first().over("client_id")))
    df = df.sort(keys).with_columns(  # sorted: ties in revenue rank by platform name
        (pl.col("engagements") / pl.col("impressions")).alias("engagement_rate"),
        pl.when(pl.col("attributed_revenue").sum().over("client_id") > 0)
        .then(pl.col("attributed_revenue") / pl.col("attributed_revenue").sum().over("client_id"))
        .alias("revenue_share"),
        pl.col("attributed_revenue").rank("ordinal", descending=True).over("client_id").cast(pl.Int64)
        .alias("revenue_rank"))
    others_upper = df.with_columns(
        pl.when(pl.col("revenue_rank") == 1).then(None).otherwise(pl.col("revenue_upper"))
        .max().over("client_id").fill_null(0.0).alias("_others"))
    df = others_upper.with_columns(
        ((pl.col("revenue_rank") == 1) & (pl.col("attributed_revenue") > 0)).alias("is_top_revenue_platform")
    ).with_columns(
        (pl.col("is_top_revenue_platform") & (pl.col("revenue_lower") > pl.col("_others")))
        .fill_null(False).alias("top_platform_separated"))
    df = with_status(df, [(pl.col("impressions") <= 0, "no_impressions")], ["engagement_rate"])
    return df.select(*keys, "weeks", "posts", "impressions", "engagements", "engagement_rate",
                     "attribution_model", "attributed_revenue", "revenue_lower", "revenue_upper",
                     "revenue_share", "revenue_rank", "is_top_revenue_platform", "top_platform_separated",
                     "status", "status_message").sort(keys)


def platform_trends(panel: pl.DataFrame, level: float = 0.95, min_weeks: int = 4) -> pl.DataFrame:
    """One row per client x platform x metric (posts, engagement_rate, attributed_revenue)."""
    keys = ["client_id", "platform"]
    series = {
        "posts": panel.select(*keys, "week_start", pl.col("posts").cast(pl.Float64).alias("value")),
        "engagement_rate": panel.filter(pl.col("impressions") > 0).select(
            *keys, "week_start", (pl.col("engagements") / pl.col("impressions")).alias("value")),
        "attributed_revenue": panel.select(*keys, "week_start", pl.col("revenue").alias("value")),
    }
    return pl.concat([weekly_trends(s.with_columns(pl.lit(m).alias("metric")), [*keys, "metric"],
                                    "week_start", "value", level, min_weeks)
                      for m, s in series.items()]).sort(*keys, "metric")
