"""Evidence of the monitoring, forecasting and performance insights (analytics.metric_anomalies,
revenue_forecast, content_generation_performance).

Each function returns one row per insight with ``client_id`` (null for a platform-wide insight),
``subject``, ``confidence``, ``money_impact`` and the columns the kind's templates name
(``insight_kinds.yml``); rows that lack the evidence the table asks for are not returned.
"""

from __future__ import annotations

import polars as pl

from ..monitoring.metric_catalog import METRICS
from .formatting import shown

OK = pl.col("status") == "ok"
RECENT_DAYS = 7  # anomalies this close to the newest flagged point are reported
OUTLOOK_DAYS = 28  # forecast days summed into the outlook


def metric_anomalies(anomalies: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """The latest flagged point of each metric x entity within ``RECENT_DAYS`` of the newest
    one; a client metric's point goes to that client, the others are platform-wide; confidence
    = the detector's score. Rates (metrics named ``*_rate``) are shown in percent. No insight
    whose expected value is shown as 0 (the deviation would have no base)."""
    client_metrics = [m.name for m in METRICS.values() if m.entity_kind == "client"]
    rows = anomalies.filter(OK & pl.col("expected").is_not_null() & (pl.col("expected") != 0)
                            & pl.col("score").is_not_null())
    rows = rows.filter(pl.col("ts") >= pl.col("ts").max() - pl.duration(days=RECENT_DAYS))
    latest = rows.sort("ts", "score", descending=[True, True]).group_by(
        "metric", "entity", maintain_order=True).first()
    rate = pl.col("metric").str.ends_with("_rate")  # rates are shown in percent
    scale = pl.when(rate).then(100.0).otherwise(1.0)
    shown_expected = latest.select(shown(pl.col("expected") * scale, "number")).to_series()
    latest = latest.filter(shown_expected != 0)  # the deviation needs an expected value shown as nonzero
    return latest.select(
        pl.when(pl.col("metric").is_in(client_metrics)).then(pl.col("entity")).alias("client_id"),
        pl.concat_str("metric", pl.lit(":"), "entity").alias("subject"),
        pl.col("metric").str.replace_all("_", " "), "entity", (pl.col("value") * scale).alias("value"),
        (pl.col("expected") * scale).alias("expected"), pl.when(rate).then(pl.lit("%")).otherwise(pl.lit("")).alias("unit"),
        ((pl.col("value") - pl.col("expected")) / pl.col("expected").abs()).alias("deviation"),
        pl.col("ts").dt.date().cast(pl.String).alias("day"), "detector", pl.col("pattern").fill_null("change"),
        pl.col("score").clip(0.0, 1.0).alias("confidence"), pl.lit(None, pl.Float64).alias("money_impact"))


def revenue_outlook(forecast: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """Per client the point forecasts of the next ``OUTLOOK_DAYS`` days summed (at the lowest
    interval level: the point is the same at every level); confidence = 1 - the mean relative
    half-width of the daily intervals."""
    client = forecast.filter(OK & (pl.col("series_kind") == "client") & (pl.col("horizon_days") <= OUTLOOK_DAYS))
    rows = client.filter(pl.col("level") == pl.col("level").min())
    per_client = rows.group_by("client_id").agg(
        pl.col("forecast").sum().alias("forecast_total"), pl.len().alias("days"),
        pl.when(pl.col("forecast") > 0).then((pl.col("upper") - pl.col("lower")) / (2 * pl.col("forecast")))
        .mean().alias("_half_width"))
    kept = per_client.filter((pl.col("days") >= minimums.get("days", 0)) & (pl.col("forecast_total") > 0)
                             & pl.col("_half_width").is_not_null())
    return kept.select(
        "client_id", pl.lit("revenue_forecast").alias("subject"), "forecast_total", pl.col("days").cast(pl.Int64),
        (pl.col("forecast_total") / pl.col("days")).alias("daily_forecast"),
        (1 - pl.col("_half_width")).clip(0.0, 1.0).alias("confidence"),
        pl.col("forecast_total").alias("money_impact"))


def generation_reliability(generation: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """Clients whose content generation reads warning or critical; confidence = 1 - the width of
    the success rate's Wilson interval."""
    rows = generation.filter(OK & pl.col("client_id").is_not_null() & pl.col("health").is_in(["warning", "critical"])
                             & (pl.col("jobs") >= minimums.get("jobs", 0)))
    return rows.select(
        "client_id", pl.lit("content_generation").alias("subject"), "success_rate", pl.col("jobs").cast(pl.Int64),
        "success_low", "success_high", "health",
        (1 - (pl.col("success_high") - pl.col("success_low"))).clip(0.0, 1.0).alias("confidence"),
        pl.lit(None, pl.Float64).alias("money_impact"))
