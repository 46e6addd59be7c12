"""Metric series from the marts on a regular time grid (one row per entity and step).

A series is the catalog's ``value_sql`` aggregated per entity and time step of its mart
(``metric_catalog``); the grid is filled so that missing steps are null rows, which lets the
seasonal baseline address "the same slot k periods ago" by time arithmetic.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from .metric_catalog import MonitoredMetric

STEP = {"minute": "1m", "hour": "1h", "day": "1d"}
#: metrics whose mart has no row for a step without activity: a missing step is 0, not a gap
#: (fct_revenue_daily holds a client's day only when it had a conversion)
ABSENT_MEANS_ZERO = frozenset({"client_daily_revenue"})


def series_sql(m: MonitoredMetric, since: dt.datetime | None = None) -> str:
    """SQL returning (entity, ts, value) of metric ``m``, from ``since`` on when given."""
    entity = (" || '/' || ".join(f"cast({c} as varchar)" for c in m.entity_columns)
              if m.entity_columns else "cast('all' as varchar)")
    where = f"where {m.time_column} >= timestamp '{since:%Y-%m-%d %H:%M:%S}'" if since else ""
    return (f"select {entity} as entity, cast({m.time_column} as timestamp) as ts, "
            f"cast({m.value_sql} as double precision) as value from marts.{m.mart} {where} "
            f"group by 1, 2")


def regular_grid(df: pl.DataFrame, grain: str, absent: float | None = None) -> pl.DataFrame:
    """``df`` (entity, ts, value) on every step from each entity's first to the overall last
    time (missing steps: ``absent``, null by default: a gap), sorted by entity and ts."""
    if grain not in STEP:
        raise ValueError(f"grain must be one of {sorted(STEP)}, got {grain!r}")
    df = df.select(pl.col("entity").cast(pl.String), pl.col("ts").cast(pl.Datetime("us")),
                   pl.col("value").cast(pl.Float64)).unique(["entity", "ts"], keep="first")
    if df.height == 0:
        return df
    last = df["ts"].max()
    spans = df.group_by("entity").agg(pl.col("ts").min().alias("first")).with_columns(
        ts=pl.datetime_ranges("first", pl.lit(last), interval=STEP[grain])).explode("ts")
    grid = spans.select("entity", "ts").join(df.with_columns(_row=pl.lit(True)),
                                              on=["entity", "ts"], how="left")
    if absent is not None:
        grid = grid.with_columns(value=pl.when(pl.col("_row").is_null()).then(pl.lit(absent))
                                 .otherwise(pl.col("value")))
    return grid.drop("_row").sort("entity", "ts")
