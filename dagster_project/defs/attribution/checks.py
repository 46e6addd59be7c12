"""Conservation: per client and model, credits sum to the client's conversions and revenue."""

import dagster as dg

from dagster_project.analytics.attribution import check_conservation
from dagster_project.analytics.attribution.conservation import TOLERANCE
from dagster_project.defs.attribution.sources import CLIENT_TOTALS_SQL
from dagster_project.metadata import markdown_table
from dagster_project.warehouse import Warehouse


@dg.asset_check(asset=["analytics", "channel_attribution"], blocking=True,
                description=f"Every client with journeys has credits under every model, no credits "
                f"exist for a client without journeys, and for every client and model the attributed "
                f"conversions and revenue sum to the client's conversions and revenue in "
                f"marts.fct_attribution_paths (relative error <= {TOLERANCE}).")
def attribution_conserves_conversions_and_revenue(warehouse: Warehouse) -> dg.AssetCheckResult:
    attribution = warehouse.read("select client_id, attribution_model, attributed_conversions, "
                                 "attributed_revenue from analytics.channel_attribution")
    totals = warehouse.read(CLIENT_TOTALS_SQL)  # of the journeys the models credited
    check = check_conservation(attribution, totals)
    worst = check.failing.sort("conversions_rel_error", descending=True).head(10)
    missing = check.missing_pairs
    return dg.AssetCheckResult(
        passed=check.passed,
        metadata={"max_conversions_rel_error": check.max_conversions_rel_error,
                  "max_revenue_rel_error": check.max_revenue_rel_error,
                  "client_models": check.pairs, "failing_client_models": check.failing.height,
                  "missing_pairs": dg.MetadataValue.text(", ".join(missing[:50])
                                                         + (" ..." if len(missing) > 50 else "")),
                  "failing": dg.MetadataValue.md(markdown_table(worst, 12))},
    )


attribution_checks = [attribution_conserves_conversions_and_revenue]
