"""The status contract of the forecasting tables: ok rows carry finite values, others none,
and every interval contains its forecast."""

import dagster as dg
import polars as pl

from dagster_project.analytics.experiments.status import contract_breaches
from dagster_project.metadata import markdown_table
from dagster_project.warehouse import Warehouse

INTERVAL = ["forecast", "lower", "upper"]
CHECKED = {
    "revenue_forecast": [*INTERVAL, "backtest_coverage"],
    "mrr_forecast": [*INTERVAL, "backtest_coverage"],
    "forecast_backtest": ["mase", "smape", "coverage", "msis", "seasonal_naive_mase"],
    "capacity_forecast": [*INTERVAL, "p_cross_by_horizon"],
}


def _breaches(table: str, df: pl.DataFrame) -> pl.DataFrame:
    if table == "capacity_forecast":  # an uncalibrated horizon keeps its point forecast
        calibrated = df.filter(pl.col("status") != "uncalibrated_horizon")
        bad = contract_breaches(calibrated, CHECKED[table])
        odd = df.filter((pl.col("status") == "uncalibrated_horizon") & (
            pl.col("forecast").is_null() | pl.col("lower").is_not_null()
            | pl.col("p_cross_by_horizon").is_not_null()))
        bad = pl.concat([bad, odd])
    else:
        bad = contract_breaches(df, CHECKED[table])
    if "lower" in df.columns:
        bad = pl.concat([bad, df.filter((pl.col("lower") > pl.col("forecast"))
                                        | (pl.col("forecast") > pl.col("upper")))])
    return bad


def _check(table: str):
    @dg.asset_check(asset=["analytics", table], name=f"{table}_statuses_hold",
                    description=f"Rows of analytics.{table} with status ok have finite "
                    f"{', '.join(CHECKED[table])} (intervals containing the forecast); every "
                    "other row has them null.")
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        breaches = _breaches(table, warehouse.read(f"select * from analytics.{table}"))
        return dg.AssetCheckResult(passed=breaches.height == 0, metadata={
            "breaching_rows": breaches.height,
            "sample": dg.MetadataValue.md(markdown_table(breaches.head(5)))})

    return check


forecasting_checks = [_check(t) for t in CHECKED]
