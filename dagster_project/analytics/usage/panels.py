"""Weekly client x platform panels (the unit of the trends, correlations and frequency model).

Weeks start on Monday (ISO); only full weeks inside the data's days count, so a partial first
or last week never reads as a drop. A client x platform's panel runs from the week of its first
activity to the last full week, with zeros for weeks without posts or revenue.

Attributed revenue over time: the attribution models credit each client's orders over the
whole history (analytics.channel_attribution); the time profile within a client x channel comes
from a rule-based model's touch credits by conversion week (marts.fct_attribution_touch_credits)
scaled to the recommended model's total: weekly_rec = weekly_rule x total_rec / total_rule
(0 when the rule model credits the channel nothing).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

PLATFORMS = ("instagram", "tiktok", "youtube", "linkedin", "twitter", "facebook")


def full_weeks(first_day: dt.date, last_day: dt.date) -> pl.Series:
    """Mondays of the weeks lying wholly within [first_day, last_day]."""
    start = first_day + dt.timedelta(days=(7 - first_day.weekday()) % 7)
    end = last_day - dt.timedelta(days=6)
    if end < start:
        return pl.Series("week_start", [], dtype=pl.Date)
    return pl.date_range(start, end, "1w", eager=True).alias("week_start")


def scaled_weekly_revenue(rule_weekly: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    """``rule_weekly``: client_id, platform, week_start, revenue (a rule model's credits);
    ``totals``: client_id, platform, attributed_revenue (the recommended model's). Returns
    client_id, platform, week_start, revenue scaled to the recommended totals."""
    rule_total = rule_weekly.group_by("client_id", "platform").agg(pl.col("revenue").sum().alias("_rule"))
    return rule_weekly.join(rule_total, on=["client_id", "platform"]).join(
        totals.select("client_id", "platform", "attributed_revenue"), on=["client_id", "platform"], how="left"
    ).with_columns(
        pl.when(pl.col("_rule") > 0)
        .then(pl.col("revenue") * pl.col("attributed_revenue").fill_null(0) / pl.col("_rule"))
        .otherwise(0.0).alias("revenue")).select("client_id", "platform", "week_start", "revenue")


def weekly_panel(usage_daily: pl.DataFrame, weekly_revenue: pl.DataFrame, weeks: pl.Series) -> pl.DataFrame:
    """``usage_daily``: client_id, platform, activity_date, posts_published, impressions,
    engagements. ``weekly_revenue``: client_id, platform, week_start, revenue. One row per
    client x platform x full week from its first active week, zeros filled."""
    keys = ["client_id", "platform", "week_start"]
    weekly = usage_daily.with_columns(pl.col("activity_date").dt.truncate("1w").alias("week_start")).group_by(
        keys).agg(pl.col("posts_published").sum().alias("posts"), pl.col("impressions").sum(),
                  pl.col("engagements").sum())
    activity = pl.concat([weekly.select(keys), weekly_revenue.select(keys)]).group_by(
        "client_id", "platform").agg(pl.col("week_start").min().alias("_first"))
    grid = activity.join(weeks.to_frame(), how="cross").filter(pl.col("week_start") >= pl.col("_first"))
    return grid.join(weekly, on=keys, how="left").join(weekly_revenue, on=keys, how="left").select(
        *keys, pl.col("posts").fill_null(0), pl.col("impressions").fill_null(0),
        pl.col("engagements").fill_null(0), pl.col("revenue").fill_null(0.0)).sort(keys)


def client_week_revenue(revenue_daily: pl.DataFrame, clients: pl.DataFrame, weeks: pl.Series) -> pl.DataFrame:
    """``revenue_daily``: client_id, revenue_date, revenue; ``clients``: client_id, signup_at.
    One row per client x full week from the client's sign-up week, zeros filled."""
    weekly = revenue_daily.group_by("client_id", pl.col("revenue_date").dt.truncate("1w").alias("week_start")).agg(
        pl.col("revenue").sum())
    grid = clients.select("client_id", pl.col("signup_at").cast(pl.Date).dt.truncate("1w").alias("_first")).join(
        weeks.to_frame(), how="cross").filter(pl.col("week_start") >= pl.col("_first"))
    return grid.join(weekly, on=["client_id", "week_start"], how="left").select(
        "client_id", "week_start", pl.col("revenue").fill_null(0.0)).sort("client_id", "week_start")


def posting_weeks(posts: pl.DataFrame, weeks: pl.Series) -> pl.DataFrame:
    """``posts``: client_id, platform, published_at, engagements (every published post).
    One row per client x platform x week in ``weeks`` from the week of its first post: posts
    published and their lifetime engagements."""
    keys = ["client_id", "platform", "week_start"]
    weekly = posts.with_columns(pl.col("published_at").dt.truncate("1w").cast(pl.Date).alias("week_start")).group_by(
        keys).agg(pl.len().alias("posts"), pl.col("engagements").sum())
    first = weekly.group_by("client_id", "platform").agg(pl.col("week_start").min().alias("_first"))
    grid = first.join(weeks.to_frame(), how="cross").filter(pl.col("week_start") >= pl.col("_first"))
    return grid.join(weekly, on=keys, how="left").select(
        *keys, pl.col("posts").fill_null(0), pl.col("engagements").fill_null(0)).sort(keys)
