"""Evidence of the attribution, experiment, customer and pricing insights
(analytics.attribution_roi, channel_attribution with attribution_model_comparison,
experiment_results with experiments, client_churn_risk with marts.dim_clients,
price_recommendations).

Each function returns one row per insight with ``client_id`` (null for a platform-wide insight),
``subject``, ``confidence``, ``money_impact`` and the columns the kind's templates name
(``insight_kinds.yml``); rows that lack the evidence the table asks for are not returned.
"""

from __future__ import annotations

import polars as pl

from .names import CHANNEL_NAMES, channel_name

OK = pl.col("status") == "ok"


def _recommended(df: pl.DataFrame, comparison: pl.DataFrame) -> pl.DataFrame:
    """``df``'s rows of each client's recommended attribution model."""
    models = comparison.select("client_id", pl.col("recommended_model").alias("attribution_model")).unique()
    return df.join(models, on=["client_id", "attribution_model"])


def _best(df: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per client the row with the largest ``by`` (ties: the first channel by name)."""
    return df.sort(by, "channel", descending=[True, False]).group_by("client_id", maintain_order=True).first()


def best_roi_channel(roi: pl.DataFrame, comparison: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """The channel with the highest ROAS under the client's recommended model, among channels
    with enough spend and conversions; confidence = conversions / (conversions + 5)."""
    rows = _recommended(roi, comparison).filter(
        OK & (pl.col("spend") >= minimums.get("spend", 0.0))
        & (pl.col("attributed_conversions") >= minimums.get("conversions", 0.0)))
    best = _best(rows, "roas").filter(pl.col("roas") >= minimums.get("roas", 0.0))
    return best.select(
        "client_id", pl.col("channel").alias("subject"), channel_name("channel").alias("channel_name"),
        "roas", pl.col("attributed_revenue").alias("revenue"), "spend",
        pl.col("attributed_conversions").alias("conversions"),
        (pl.col("attributed_conversions") / (pl.col("attributed_conversions") + 5.0)).alias("confidence"),
        (pl.col("attributed_revenue") - pl.col("spend")).alias("money_impact"))


def conversion_leader(attribution: pl.DataFrame, comparison: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """The channel credited with the most conversions under the client's recommended model
    (among named channels: journeys without a touch, channel ``(none)``, are left out);
    confidence = conversions_lower / conversions."""
    rows = _recommended(attribution.filter(OK & pl.col("channel").is_in(list(CHANNEL_NAMES))), comparison).with_columns(
        pl.col("attributed_conversions").sum().over("client_id").alias("total_conversions"))
    best = _best(rows.filter(pl.col("total_conversions") >= minimums.get("total_conversions", 0.0)),
                 "attributed_conversions").filter(pl.col("attributed_conversions") > 0)
    return best.select(
        "client_id", pl.col("channel").alias("subject"), channel_name("channel").alias("channel_name"),
        (pl.col("attributed_conversions") / pl.col("total_conversions")).alias("share"),
        pl.col("attributed_conversions").alias("conversions"), "total_conversions", "conversions_lower",
        (pl.col("conversions_lower") / pl.col("attributed_conversions")).clip(0.0, 1.0).alias("confidence"),
        pl.col("attributed_revenue").alias("money_impact"))


def experiment_winners(results: pl.DataFrame, experiments: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """The winning variant's primary metric of every experiment decided ship; confidence =
    chance_to_beat_control. The experiment's client (null: platform-wide) gets the insight."""
    rows = results.filter(OK & pl.col("is_primary") & (pl.col("decision") == "ship")
                          & (pl.col("variant") == pl.col("winning_variant"))
                          & pl.col("chance_to_beat_control").is_not_null())
    named = rows.join(experiments.select("experiment_id", "client_id", "experiment_name"), on="experiment_id")
    return named.select(
        "client_id", pl.col("experiment_id").alias("subject"),
        pl.col("experiment_name").str.replace_all("_", " "), "variant", pl.col("metric").str.replace_all("_", " "),
        pl.col("rel_lift").alias("lift"), pl.col("rel_ci_low").alias("lift_low"),
        pl.col("rel_ci_high").alias("lift_high"), pl.col("chance_to_beat_control").alias("chance"),
        pl.col("chance_to_beat_control").alias("confidence"), pl.lit(None, pl.Float64).alias("money_impact"))


def churn_risk(risk: pl.DataFrame, clients: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """The latest ok snapshot's churn risk of each client at or above the minimum; confidence =
    1 - |risk - baseline| / max(risk, baseline); money at stake = risk x current MRR x 12."""
    latest = risk.filter(OK).filter(pl.col("snapshot_date") == pl.col("snapshot_date").max().over("client_id"))
    rows = latest.filter((pl.col("churn_risk") >= minimums.get("risk", 0.0)) & pl.col("driver_1").is_not_null()
                         & (pl.max_horizontal("churn_risk", "baseline_risk") > 0)).join(
        clients.select("client_id", "current_mrr"), on="client_id", how="left")
    return rows.select(
        "client_id", pl.lit("churn").alias("subject"), pl.col("churn_risk").alias("risk"), "baseline_risk",
        pl.col("driver_1").alias("driver"),
        (pl.col("churn_risk") * pl.col("current_mrr").fill_null(0.0) * 12).alias("mrr_at_risk"),
        (1 - (pl.col("churn_risk") - pl.col("baseline_risk")).abs()
         / pl.max_horizontal("churn_risk", "baseline_risk")).alias("confidence"),
        (pl.col("churn_risk") * pl.col("current_mrr").fill_null(0.0) * 12).alias("money_impact"))


def price_changes(recommendations: pl.DataFrame, minimums: dict[str, float]) -> pl.DataFrame:
    """Platform-wide: each tier's recommended price move (action not hold); confidence = the
    recommendation's own."""
    rows = recommendations.filter(OK & (pl.col("action") != "hold") & pl.col("confidence").is_not_null())
    return rows.select(
        pl.lit(None, pl.String).alias("client_id"), pl.col("tier").alias("subject"), "tier", "current_price",
        "suggested_price", pl.col("expected_revenue_change").alias("revenue_change"),
        pl.col("horizon_weeks").alias("weeks"), "risk_level", pl.col("confidence").clip(0.0, 1.0),
        pl.col("expected_revenue_change").abs().alias("money_impact"))
