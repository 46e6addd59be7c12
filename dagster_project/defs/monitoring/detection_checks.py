"""Checks of analytics.metric_anomalies: the status contract, score range and unique ids."""

import dagster as dg
import polars as pl

from dagster_project.analytics.experiments.status import contract_breaches
from dagster_project.analytics.monitoring import DETECTORS, PATTERNS
from dagster_project.metadata import markdown_table
from dagster_project.warehouse import Warehouse


@dg.asset_check(asset=["analytics", "metric_anomalies"], name="metric_anomalies_contract_holds",
                description="ok rows have a score in [0, 1] and a known pattern, other rows "
                "neither; detectors are known; anomaly_id is unique.")
def metric_anomalies_contract_holds(warehouse: Warehouse) -> dg.AssetCheckResult:
    df = warehouse.read("select * from analytics.metric_anomalies")
    bad = pl.concat([
        contract_breaches(df, ["score", "pattern"]),
        df.filter((pl.col("score") < 0) | (pl.col("score") > 1)
                  | ~pl.col("detector").is_in(list(DETECTORS))
                  | (pl.col("pattern").is_not_null() & ~pl.col("pattern").is_in(list(PATTERNS)))),
    ])
    duplicated = df.height - df["anomaly_id"].n_unique()
    return dg.AssetCheckResult(passed=bad.height == 0 and duplicated == 0, metadata={
        "breaching_rows": bad.height, "duplicated_ids": duplicated,
        "sample": dg.MetadataValue.md(markdown_table(bad.head(5)))})
