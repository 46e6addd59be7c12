"""Return on marketing spend per channel under each attribution model."""

from __future__ import annotations

import polars as pl


def channel_roi(attribution: pl.DataFrame, spend: pl.DataFrame) -> pl.DataFrame:
    """Per client, channel and model: spend, attributed conversions and revenue, ROAS
    (revenue / spend) and CPA (spend / conversions); null when the denominator is 0.
    ``spend``: client_id, channel, spend (summed over the same period as the journeys)."""
    s = spend.group_by("client_id", "channel").agg(pl.col("spend").cast(pl.Float64).sum())
    return (
        attribution.select("client_id", "channel", "attribution_model", "attributed_conversions",
                           "attributed_revenue")
        .join(s, on=["client_id", "channel"], how="left")
        .with_columns(pl.col("spend").fill_null(0.0))
        .with_columns(
            pl.when(pl.col("spend") > 0).then(pl.col("attributed_revenue") / pl.col("spend")).alias("roas"),
            pl.when(pl.col("attributed_conversions") > 0)
            .then(pl.col("spend") / pl.col("attributed_conversions")).alias("cpa"),
        )
        .sort("client_id", "attribution_model", "channel")
    )
