"""Return on marketing spend per channel under each attribution model."""

from __future__ import annotations

import polars as pl

from .status import with_status

ROI_RULES = (
    ("no_spend", pl.col("spend") == 0, ["roas"]),
    ("no_attributed_conversions", pl.col("attributed_conversions") == 0, ["cpa"]),
)


def channel_roi(attribution: pl.DataFrame, spend: pl.DataFrame) -> pl.DataFrame:
    """Per client, channel and model: spend, attributed conversions and revenue, ROAS
    (revenue / spend) and CPA (spend / conversions), each null when its denominator is 0, with
    ``status`` naming why (``analytics.attribution.status``: no_spend, no_attributed_conversions,
    non_finite). ``spend``: client_id, channel, spend (summed over the same period as the
    journeys)."""
    s = spend.group_by("client_id", "channel").agg(pl.col("spend").cast(pl.Float64).sum())
    roi = (
        attribution.select("client_id", "channel", "attribution_model", "attributed_conversions",
                           "attributed_revenue")
        .join(s, on=["client_id", "channel"], how="left")
        .with_columns(pl.col("spend").fill_null(0.0))
        .with_columns((pl.col("attributed_revenue") / pl.col("spend")).alias("roas"),
                      (pl.col("spend") / pl.col("attributed_conversions")).alias("cpa"))
    )
    numbers = ["attributed_conversions", "attributed_revenue", "spend", "roas", "cpa"]
    return with_status(roi, ROI_RULES, numbers).sort("client_id", "attribution_model", "channel")
