"""Conservation: per client and model, credits sum to the client's conversions and revenue."""

import dagster as dg

from dagster_project.analytics.attribution import conservation_errors
from dagster_project.defs.attribution.assets import PATHS_SQL
from dagster_project.metadata import markdown_table
from dagster_project.warehouse import Warehouse

TOLERANCE = 1e-9


@dg.asset_check(asset=["analytics", "channel_attribution"], blocking=True,
                description=f"For every client and model the attributed conversions and revenue sum "
                f"to the client's conversions and revenue in marts.fct_attribution_paths "
                f"(relative error <= {TOLERANCE}).")
def attribution_conserves_conversions_and_revenue(warehouse: Warehouse) -> dg.AssetCheckResult:
    attribution = warehouse.read("select client_id, attribution_model, attributed_conversions, "
                                 "attributed_revenue from analytics.channel_attribution")
    paths = warehouse.read(PATHS_SQL)  # the journeys the models credited
    errors = conservation_errors(attribution, paths)
    worst = errors.sort("conversions_rel_error", descending=True).head(5)
    max_conv = float(errors["conversions_rel_error"].max() or 0.0)
    max_rev = float(errors["revenue_rel_error"].max() or 0.0)
    return dg.AssetCheckResult(
        passed=max(max_conv, max_rev) <= TOLERANCE and errors["attribution_model"].null_count() == 0,
        metadata={"max_conversions_rel_error": max_conv, "max_revenue_rel_error": max_rev,
                  "client_models": errors.height, "worst": dg.MetadataValue.md(markdown_table(worst, 12))},
    )


attribution_checks = [attribution_conserves_conversions_and_revenue]
