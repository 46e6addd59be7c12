"""The overall performance status: one verdict from the SLO, latency and generation rules.

Components, each with its own health (rules in :mod:`.slo`, :mod:`.latency`,
:mod:`.generation`): every service's SLO at the newest hour, every endpoint's latency over the
recent window, and the platform's content generation. The overall health is the worst of them
(critical > warning > healthy), and its reason lists the components that set it.
"""

from __future__ import annotations

import polars as pl

from .status import HEALTH_LEVELS

RANK = {h: i for i, h in enumerate(HEALTH_LEVELS)}


def overall_status(burn: pl.DataFrame, latency: pl.DataFrame, generation: pl.DataFrame) -> pl.DataFrame:
    """One row per component plus the overall row (component_type 'overall')."""
    latest = burn.filter(pl.col("hour_at") == pl.col("hour_at").max().over("service"))
    rules = lambda *names: pl.concat_str([pl.when(pl.col(n)).then(pl.lit(n)) for n in names],
                                         separator=",", ignore_nulls=True)
    slo = latest.select(
        pl.lit("slo").alias("component_type"), pl.col("service").alias("component"), "health",
        pl.concat_str([pl.lit("availability "), (pl.col("availability") * 100).round(3).cast(pl.String),
                       pl.lit("% in the last hour; burn 1h/6h/3d "),
                       pl.concat_str([pl.col(c).round(2).cast(pl.String) for c in ("burn_1h", "burn_6h", "burn_3d")],
                                     separator="/", ignore_nulls=True),
                       pl.lit("; rules firing: "), rules("fast_burn", "slow_burn", "ticket")],
                      ignore_nulls=True).alias("reason"),
        pl.col("hour_at").alias("evaluated_at"))
    lat = latency.select(
        pl.lit("latency").alias("component_type"), pl.col("endpoint").alias("component"), "health",
        pl.concat_str([pl.lit("p95 "), pl.col("p95_ms").round(1).cast(pl.String), pl.lit(" ms, "),
                       pl.col("p95_ratio").round(2).cast(pl.String).fill_null("no baseline"),
                       pl.lit("x its baseline")]).alias("reason"),
        pl.col("window_end").alias("evaluated_at"))
    gen = generation.filter(pl.col("client_id").is_null()).select(
        pl.lit("content_generation").alias("component_type"), pl.lit("platform").alias("component"), "health",
        pl.concat_str([pl.lit("success rate "), (pl.col("success_rate") * 100).round(1).cast(pl.String),
                       pl.lit("% (95% CI upper "), (pl.col("success_high") * 100).round(1).cast(pl.String),
                       pl.lit("%)")]).fill_null("no jobs").alias("reason"),
        pl.col("window_end").cast(pl.Datetime("us")).alias("evaluated_at"))
    parts = pl.concat([slo.with_columns(pl.col("evaluated_at").cast(pl.Datetime("us"))),
                       lat.with_columns(pl.col("evaluated_at").cast(pl.Datetime("us"))), gen])
    ranked = parts.with_columns(pl.col("health").replace_strict(RANK, return_dtype=pl.Int64).alias("_r"))
    worst = int(ranked["_r"].max()) if ranked.height else 0
    setters = ranked.filter(pl.col("_r") == worst)
    overall = pl.DataFrame({
        "component_type": ["overall"], "component": ["platform"], "health": [HEALTH_LEVELS[worst]],
        "reason": [f"{setters.height} component(s) {HEALTH_LEVELS[worst]}: " + ", ".join(
            (setters["component_type"] + ":" + setters["component"]).to_list()[:10])],
        "evaluated_at": [parts["evaluated_at"].max()]}, schema=parts.schema)
    return pl.concat([overall, parts]).sort("component_type", "component")
