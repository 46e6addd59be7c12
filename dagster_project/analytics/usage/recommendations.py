"""Posting recommendations per client, platform and content type: hours, frequency, days.

Assembles :mod:`.posting_slots` (peak hours and best weekdays, each with its own status) and
:mod:`.posting_frequency` (the platform's engagement-maximizing weekly frequency, given to the
client's rows when the client has ``min_weeks`` of its own weeks on the platform) into one row
per client x platform x content type, with the evidence written out. The frequency is per
client x platform (posting counts are not split by content type), repeated on its types' rows.
Every part is null unless its status is ``ok`` (``hours_status``, ``days_status``,
``frequency_status``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from .posting_frequency import FrequencySettings, frequency_curves
from .posting_slots import SlotSettings, slot_recommendations
from .status import STATUS_CODES, with_status

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
KEYS = ["client_id", "platform", "content_type"]


@dataclass(frozen=True)
class PostingSettings:
    hours: SlotSettings = field(default_factory=lambda: SlotSettings("publish_hour"))
    days: SlotSettings = field(default_factory=lambda: SlotSettings("publish_weekday"))
    frequency: FrequencySettings = field(default_factory=FrequencySettings)
    timezone: str = "UTC"


@dataclass(frozen=True)
class PostingResult:
    recommendations: pl.DataFrame  # client x platform x content type
    peak_hours: pl.DataFrame  # client x platform x content type x rank
    hour_profiles: pl.DataFrame  # platform x content type x hour (all clients)
    day_profiles: pl.DataFrame  # platform x content type x weekday (all clients)
    frequency_curves: pl.DataFrame  # platform


def _pct(col: str) -> pl.Expr:
    return (pl.col(col) * 100).round(0).cast(pl.Int64).cast(pl.String)


def posting_recommendations(posts: pl.DataFrame, weeks: pl.DataFrame,
                            settings: PostingSettings = PostingSettings()) -> PostingResult:
    """``posts`` (complete posts): client_id, platform, content_type, publish_hour (0-23),
    publish_weekday (1 = Monday .. 7), engagements, impressions. ``weeks``: client_id,
    platform, week_start, posts, engagements (complete weeks, zero weeks included)."""
    hours = slot_recommendations(posts, settings.hours)
    days = slot_recommendations(posts, settings.days)
    curves = frequency_curves(weeks, settings.frequency)
    client_weeks = weeks.group_by("client_id", "platform").agg(
        pl.len().alias("client_weeks"), pl.col("posts").mean().alias("current_posts_per_week"))
    day_names = days.summary.with_columns(pl.col("slots").str.split(",").list.eval(
        pl.element().cast(pl.Int64).replace_strict(dict(enumerate(WEEKDAYS, 1)), return_dtype=pl.String)
    ).list.join(",").alias("slots"))
    df = hours.summary.select(*KEYS, pl.col("posts").alias("complete_posts"),
                              pl.col("slots").alias("peak_hours"), pl.col("best_lift").alias("best_hour_lift"),
                              pl.col("status").alias("hours_status"),
                              pl.col("status_message").alias("hours_status_message")).join(
        day_names.select(*KEYS, pl.col("slots").alias("best_days"), pl.col("best_lift").alias("best_day_lift"),
                         pl.col("status").alias("days_status"),
                         pl.col("status_message").alias("days_status_message")), on=KEYS, how="left").join(
        client_weeks, on=["client_id", "platform"], how="left").join(
        curves.select("platform", pl.col("status").alias("_curve_status"),
                      "optimal_posts_per_week", "optimal_low", "optimal_high"), on="platform", how="left")
    df = df.with_columns(pl.col("client_weeks").fill_null(0)).with_columns(
        pl.when(pl.col("client_weeks") < settings.frequency.min_weeks).then(pl.lit("too_few_weeks"))
        .otherwise(pl.col("_curve_status").fill_null("too_few_clients")).alias("_f"))
    df = with_status(df, [(pl.col("_f") == code, code) for code in STATUS_CODES if code != "ok"],
                     ["optimal_posts_per_week", "optimal_low", "optimal_high"], prefix="frequency_")
    evidence = pl.concat_str([
        pl.when(pl.col("hours_status") == "ok").then(pl.concat_str([
            pl.lit("peak hours "), pl.col("peak_hours"), pl.lit(f" {settings.timezone}: best +"),
            _pct("best_hour_lift"), pl.lit("% engagements per post over the client's average hour")]))
        .otherwise(pl.concat_str([pl.lit("hours: "), pl.col("hours_status_message")])),
        pl.when(pl.col("days_status") == "ok").then(pl.concat_str([
            pl.lit("best days "), pl.col("best_days"), pl.lit(": best +"), _pct("best_day_lift"), pl.lit("%")]))
        .otherwise(pl.concat_str([pl.lit("days: "), pl.col("days_status_message")])),
        pl.when(pl.col("frequency_status") == "ok").then(pl.concat_str([
            pl.col("optimal_posts_per_week").round(1).cast(pl.String), pl.lit(" posts per week on "),
            pl.col("platform"), pl.lit(" (now "), pl.col("current_posts_per_week").round(1).cast(pl.String),
            pl.lit(")")]))
        .otherwise(pl.concat_str([pl.lit("frequency: "), pl.col("frequency_status_message")])),
        pl.concat_str([pl.lit("from "), pl.col("complete_posts").cast(pl.String),
                       pl.lit(" complete posts")]),
    ], separator="; ")
    recs = df.with_columns(pl.lit(settings.timezone).alias("timezone"), evidence.alias("evidence")).select(
        *KEYS, "timezone", "complete_posts", "peak_hours", "best_hour_lift", "hours_status",
        "hours_status_message", "best_days", "best_day_lift", "days_status", "days_status_message",
        "client_weeks", "current_posts_per_week", pl.col("optimal_posts_per_week").alias("recommended_posts_per_week"),
        pl.col("optimal_low").alias("recommended_posts_low"), pl.col("optimal_high").alias("recommended_posts_high"),
        "frequency_status", "frequency_status_message", "evidence").sort(KEYS)
    peak = hours.recommended.rename({"publish_hour": "hour"}).with_columns(
        pl.lit(settings.timezone).alias("timezone"))
    return PostingResult(recs, peak, hours.pooled.rename({"publish_hour": "hour"}),
                         days.pooled.rename({"publish_weekday": "weekday"}), curves)
