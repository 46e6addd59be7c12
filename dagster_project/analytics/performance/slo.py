"""Availability against an SLO and multi-window error-budget burn rates, per service and hour.

Availability over a window = 1 - errors / requests (request-based SLI). The error budget is
1 - SLO (0.1% at 99.9%). The burn rate over a window W is the window's error ratio divided by
the budget: 1 means the budget would last exactly the SLO period (``budget_days``, 30), 14.4
that 2% of a 30-day budget goes in one hour. Windows: 1 h, 6 h and 3 d, trailing, ending at
each hour (rows are hours; a window sums the hours it covers, missing hours count as no
traffic). ``budget_remaining`` = 1 - errors / (budget x requests) over the trailing SLO period.

Alert rules (Google SRE workbook, ch. 5 "Alerting on SLOs", the multiwindow, multi-burn-rate
table; with hourly data the workbook's 5-minute and 30-minute short windows are not available,
so the last hour is the short window of the 6-hour rule and the 1-hour rule has none):

* ``fast_burn`` (page): burn_1h >= 14.4;
* ``slow_burn`` (page): burn_6h >= 6 and burn_1h >= 6;
* ``ticket``: burn_3d >= 1 and burn_6h >= 1.

health = critical when a page rule fires, warning when only the ticket rule does, else
healthy. A window without requests has null burn rates (``no_requests``) and no rule fires.
The thresholds are :class:`BurnRules` (configurable).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..usage.status import with_status
from .status import STATUS_CODES

WINDOWS = {"1h": 1, "6h": 6, "3d": 72}


@dataclass(frozen=True)
class BurnRules:
    slo: float = 0.999
    budget_days: int = 30
    fast_burn: float = 14.4
    slow_burn: float = 6.0
    ticket_burn: float = 1.0

    def __post_init__(self):
        if not 0 < self.slo < 1:
            raise ValueError(f"slo must be in (0, 1), got {self.slo}")
        if self.budget_days < 3 or min(self.fast_burn, self.slow_burn, self.ticket_burn) <= 0:
            raise ValueError("budget_days must be >= 3 (the longest window) and burn thresholds > 0")


def burn_rates(hourly: pl.DataFrame, rules: BurnRules = BurnRules()) -> pl.DataFrame:
    """``hourly``: service, hour_at, requests, errors (any finer grain, e.g. endpoints, is
    summed). One row per service x hour."""
    budget = 1 - rules.slo
    df = hourly.group_by("service", "hour_at").agg(pl.col("requests").sum(), pl.col("errors").sum()).sort(
        "service", "hour_at")
    windows = {**WINDOWS, "budget": 24 * rules.budget_days}
    for name, hours in windows.items():
        df = df.with_columns(
            pl.col(c).cast(pl.Float64).rolling_sum_by("hour_at", f"{hours}h").over("service").alias(f"_{c}_{name}")
            for c in ("requests", "errors"))
    ratio = lambda w: pl.when(pl.col(f"_requests_{w}") > 0).then(pl.col(f"_errors_{w}") / pl.col(f"_requests_{w}"))
    df = df.with_columns(
        ratio("1h").alias("error_ratio_1h"),
        *[(ratio(w) / budget).alias(f"burn_{w}") for w in WINDOWS],
        (1 - ratio("budget") / budget).alias("budget_remaining"))
    df = df.with_columns(
        (1 - pl.col("error_ratio_1h")).alias("availability"),
        (pl.col("burn_1h") >= rules.fast_burn).fill_null(False).alias("fast_burn"),
        ((pl.col("burn_6h") >= rules.slow_burn) & (pl.col("burn_1h") >= rules.slow_burn)).fill_null(False)
        .alias("slow_burn"),
        ((pl.col("burn_3d") >= rules.ticket_burn) & (pl.col("burn_6h") >= rules.ticket_burn)).fill_null(False)
        .alias("ticket")).with_columns(
        pl.when(pl.col("fast_burn") | pl.col("slow_burn")).then(pl.lit("critical"))
        .when(pl.col("ticket")).then(pl.lit("warning")).otherwise(pl.lit("healthy")).alias("health"),
        pl.lit(rules.slo).alias("slo"))
    values = ["availability", "error_ratio_1h", "burn_1h"]
    df = with_status(df, [(pl.col("requests") <= 0, "no_requests")], values, codes=STATUS_CODES)
    return df.select("service", "hour_at", "requests", "errors", "availability", "slo", "burn_1h",
                     "burn_6h", "burn_3d", "budget_remaining", "fast_burn", "slow_burn", "ticket",
                     "health", "status", "status_message")
