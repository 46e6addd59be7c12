"""The status contract of the usage tables: ok rows carry finite values, others none."""

import dagster as dg

from dagster_project.analytics.experiments.status import contract_breaches
from dagster_project.metadata import markdown_table
from dagster_project.warehouse import Warehouse

# table -> (status column, the values it governs)
CHECKED = {
    "usage_platform_trends": [("status", ["slope", "slope_low", "slope_high"])],
    "usage_platform_correlations": [("status", ["correlation", "ci_low", "ci_high"])],
    "usage_feature_effects": [("status", ["estimate", "ci_low", "ci_high", "lift"])],
    "usage_adoption_by_tier": [("status", ["adoption_rate", "adoption_low", "adoption_high"])],
    "posting_recommendations": [("hours_status", ["peak_hours", "best_hour_lift"]),
                                ("days_status", ["best_days", "best_day_lift"]),
                                ("frequency_status", ["recommended_posts_per_week", "recommended_posts_low",
                                                      "recommended_posts_high"])],
}


def _check(table: str):
    described = "; ".join(f"{s} governs {', '.join(v)}" for s, v in CHECKED[table])

    @dg.asset_check(asset=["analytics", table], name=f"{table}_statuses_hold",
                    description=f"Rows of analytics.{table} whose status is ok have finite values; "
                    f"every other row has them null ({described}).")
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        df = warehouse.read(f"select * from analytics.{table}")
        breaches = [contract_breaches(df, values, status) for status, values in CHECKED[table]]
        bad = sum(b.height for b in breaches)
        return dg.AssetCheckResult(passed=bad == 0, metadata={
            "breaching_rows": bad,
            "sample": dg.MetadataValue.md(markdown_table(next((b for b in breaches if b.height), breaches[0]).head(5)))})

    return check


usage_checks = [_check(t) for t in CHECKED]
