"""The demand controls shared by every demand model of the domain: yearly seasonality as Fourier
terms, a linear trend and marketing.

For a week starting on ``w`` (the calendar's day of year ``d`` of its Thursday, the middle of an
ISO week):

- Fourier terms of order ``K`` (Harvey & Shephard 1993; Hyndman & Athanasopoulos, FPP3 s. 7.4):
  ``sin(2 pi k d / 365.25)``, ``cos(2 pi k d / 365.25)`` for ``k = 1..K``;
- trend: years since the first week of the data, minus its mean (so the intercepts keep their
  meaning at the average week);
- marketing: ``log`` of the week's mean daily marketing spend minus its mean over the weeks
  with spend; a week without spend rows gets the mean (0).

Only these columns enter; names are stable (``sin1``, ``cos1``, ..., ``trend``, ``marketing``).
"""

from __future__ import annotations

import math

import polars as pl

YEAR_DAYS = 365.25


def control_names(fourier_order: int, trend: bool, marketing: bool) -> list[str]:
    if fourier_order < 0:
        raise ValueError(f"fourier_order must be >= 0, got {fourier_order}")
    names = [f"{f}{k}" for k in range(1, fourier_order + 1) for f in ("sin", "cos")]
    return names + (["trend"] if trend else []) + (["marketing"] if marketing else [])


def demand_controls(weeks: pl.DataFrame, fourier_order: int, trend: bool = True,
                    marketing: bool = True) -> pl.DataFrame:
    """``weeks`` (week_start, marketing_spend_per_day; one row per week) with the control columns
    of the module docstring added (:func:`control_names` in that order)."""
    mid = pl.col("week_start") + pl.duration(days=3)
    angle = 2 * math.pi * mid.dt.ordinal_day().cast(pl.Float64) / YEAR_DAYS
    out = weeks.with_columns(
        [f(k * angle).alias(f"{name}{k}") for k in range(1, fourier_order + 1)
         for name, f in (("sin", pl.Expr.sin), ("cos", pl.Expr.cos))])
    if trend:
        years = (pl.col("week_start") - pl.col("week_start").min()).dt.total_days() / YEAR_DAYS
        out = out.with_columns(trend=years - years.mean())
    if marketing:
        logged = pl.when(pl.col("marketing_spend_per_day") > 0).then(
            pl.col("marketing_spend_per_day").log())
        out = out.with_columns(marketing=(logged - logged.mean()).fill_null(0.0))
    return out.select(*weeks.columns, *control_names(fourier_order, trend, marketing))
