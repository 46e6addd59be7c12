"""The status contract of the customers tables: ok rows carry finite values, others none."""

import dagster as dg

from dagster_project.analytics.experiments.status import contract_breaches
from dagster_project.metadata import markdown_table
from dagster_project.warehouse import Warehouse

CHECKED = {
    "customer_clv": ["p_alive", "expected_purchases", "expected_spend", "clv"],
    "client_churn_risk": ["churn_risk", "baseline_risk"],
    "customer_rfm": ["r_score", "f_score", "m_score", "segment"],
}


def _check(table: str):
    @dg.asset_check(asset=["analytics", table], name=f"{table}_statuses_hold",
                    description=f"Rows of analytics.{table} with status ok have finite "
                    f"{', '.join(CHECKED[table])}; every other row has them null.")
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        df = warehouse.read(f"select * from analytics.{table}")
        breaches = contract_breaches(df, CHECKED[table])
        return dg.AssetCheckResult(passed=breaches.height == 0, metadata={
            "breaching_rows": breaches.height,
            "sample": dg.MetadataValue.md(markdown_table(breaches.head(5)))})

    return check


customer_checks = [_check(t) for t in CHECKED]
