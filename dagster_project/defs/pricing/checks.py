"""The pricing tables' contracts: statuses hold, and no suggestion leaves the guardrails."""

import dagster as dg
import polars as pl

from dagster_project.analytics.pricing import load_guardrails
from dagster_project.metadata import markdown_table
from dagster_project.status_checks import status_contract_check
from dagster_project.warehouse import Warehouse

CHECKED = {
    "price_elasticity": ["estimate", "std_error", "ci_lower", "ci_upper", "classification"],
    "price_recommendations": ["suggested_price", "elasticity", "confidence",
                              "expected_revenue_change", "revenue_change_ci_lower",
                              "revenue_change_ci_upper"],
}


def guardrail_breaches(recs: pl.DataFrame, max_step: float) -> pl.DataFrame:
    """Recommendations that move a price by more than max_step, below its floor (the row's
    ``price_floor``: the floor of the guardrails file the asset ran with), down (the rules never
    cut a price), or past the recommended position's upper index (a price below its floor is
    raised towards it whatever the position)."""
    change = pl.col("suggested_price") / pl.col("current_price") - 1
    cap = pl.col("target_index_high") * pl.col("competitor_median_price")
    floor = pl.col("price_floor")
    below_floor = pl.col("current_price") < floor
    return recs.filter(pl.col("status") == "ok").filter(
        (change > max_step + 1e-9) | (change < -1e-9)
        | (floor.is_not_null() & (pl.col("suggested_price") < floor) & ~below_floor)
        | ((pl.col("action") == "increase") & ~below_floor & cap.is_not_null()
           & (pl.col("suggested_price") > cap + 0.005)))


@dg.asset_check(asset=["analytics", "price_recommendations"],
                name="price_recommendations_within_guardrails", blocking=True,
                description="No suggested price moves by more than the maximum step "
                "(guardrails.yml), goes below its floor or down, or passes the recommended "
                "position's upper index (the floor and index the row carries).")
def price_recommendations_within_guardrails(warehouse: Warehouse) -> dg.AssetCheckResult:
    bad = guardrail_breaches(warehouse.read("select * from analytics.price_recommendations"),
                             load_guardrails().max_change_per_step)
    return dg.AssetCheckResult(passed=bad.height == 0, metadata={
        "breaching_rows": bad.height, "sample": dg.MetadataValue.md(markdown_table(bad.head(5)))})


pricing_checks = [status_contract_check(t, c) for t, c in CHECKED.items()] + [price_recommendations_within_guardrails]
