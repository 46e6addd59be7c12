"""Conservation: per client and model, credits sum to its conversions and revenue."""

from __future__ import annotations

import polars as pl


def conservation_errors(attribution: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """Per client and model: relative error of the summed credits against the client's
    conversions and revenue (from the journeys)."""
    totals = paths.group_by("client_id").agg(
        pl.col("converted").cast(pl.Float64).sum().alias("conversions"),
        pl.col("revenue").cast(pl.Float64).sum().alias("revenue"))
    sums = attribution.group_by("client_id", "attribution_model").agg(
        pl.col("attributed_conversions").sum(), pl.col("attributed_revenue").sum())
    return sums.join(totals, on="client_id", how="full", coalesce=True).with_columns(
        ((pl.col("attributed_conversions").fill_null(0) - pl.col("conversions")).abs()
         / pl.max_horizontal(pl.col("conversions"), pl.lit(1e-12))).alias("conversions_rel_error"),
        ((pl.col("attributed_revenue").fill_null(0) - pl.col("revenue")).abs()
         / pl.max_horizontal(pl.col("revenue"), pl.lit(1e-12))).alias("revenue_rel_error"),
    )
