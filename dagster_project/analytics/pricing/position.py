"""Competitive position per tier: our list price against the comparable competitor plans.

Price index ``= p / median_j(q_j)``: our list price at the as-of date over the median of the
latest weekly price of every competitor plan mapped to the tier (``comparable_tier`` of
``marts.fct_competitor_prices_weekly``; the median so that one outlier plan does not set the
market). The current position is the band of ``guardrails.yml`` the index falls in (below the
lowest band: value_leader; above the highest: premium_provider); the recommended position comes
from the guardrails' rule on the tier's elasticity class (first match wins).
"""

from __future__ import annotations

import polars as pl

from .guardrails import POSITIONS, Guardrails
from .status import OK, STATUS_CODES


def competitive_position(list_prices: pl.DataFrame, competitors: pl.DataFrame,
                         classification: pl.DataFrame, guardrails: Guardrails) -> pl.DataFrame:
    """One row per tier of ``list_prices`` (tier, list_price).

    ``competitors``: fct_competitor_prices_weekly rows (week_start, competitor, plan_name,
    comparable_tier, monthly_price); ``classification``: tier, classification (the combined
    elasticity's, null when not ok)."""
    latest = (competitors.sort("week_start").group_by("competitor", "plan_name")
              .agg(pl.col("comparable_tier").last(), pl.col("monthly_price").last(),
                   pl.col("week_start").last()))
    market = latest.group_by(tier="comparable_tier").agg(
        competitor_median_price=pl.col("monthly_price").median(),
        competitor_min_price=pl.col("monthly_price").min(),
        competitor_max_price=pl.col("monthly_price").max(),
        competitor_plans=pl.len().cast(pl.Int64),
        competitors_observed_week=pl.col("week_start").max())
    df = (list_prices.join(market, on="tier", how="left")
          .join(classification, on="tier", how="left").sort("tier"))
    bands = guardrails.position_bands
    index = pl.col("list_price") / pl.col("competitor_median_price")
    current = pl.lit(POSITIONS[-1])
    for name in reversed(POSITIONS[:-1]):
        current = pl.when(index <= bands[name][1]).then(pl.lit(name)).otherwise(current)
    recommended = pl.lit(guardrails.position_rule[-1][1])
    for cls, position in reversed(guardrails.position_rule[:-1]):
        recommended = pl.when(pl.col("classification") == cls).then(pl.lit(position)).otherwise(
            recommended)
    status = (pl.when(pl.col("list_price").is_null()).then(pl.lit("no_list_price"))
              .when(pl.col("competitor_plans").is_null()).then(pl.lit("no_competitors"))
              .otherwise(pl.lit(OK)))
    df = df.with_columns(price_index=index, current_position=current,
                         recommended_position=recommended, status=status)
    ok = pl.col("status") == OK
    return df.select(
        "tier", "list_price", "competitor_median_price", "competitor_min_price",
        "competitor_max_price", pl.col("competitor_plans").fill_null(0),
        "competitors_observed_week",
        price_index=pl.when(ok).then("price_index"),
        current_position=pl.when(ok).then("current_position"),
        recommended_position="recommended_position",
        target_index_low=pl.col("recommended_position").replace_strict(
            {k: v[0] for k, v in bands.items()}, return_dtype=pl.Float64),
        target_index_high=pl.col("recommended_position").replace_strict(
            {k: v[1] for k, v in bands.items()}, return_dtype=pl.Float64),
        status="status",
        status_message=pl.col("status").replace_strict(STATUS_CODES, return_dtype=pl.String))
