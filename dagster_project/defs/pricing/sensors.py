"""The sensor that turns new recommendations into pending proposals (through propose_prices)."""

import dagster as dg

from dagster_project.defs.pricing.assets import RECOMMENDATIONS
from dagster_project.defs.pricing.jobs import propose_prices


@dg.asset_sensor(asset_key=RECOMMENDATIONS, job=propose_prices,
                 default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60)
def pricing_proposals_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    """Each new materialization of analytics/price_recommendations starts one propose_prices
    run (keyed on the run that materialized it: never two for one); the run writes the
    proposals, and it is idempotent besides."""
    return dg.RunRequest(run_key=f"price_recommendations-{asset_event.run_id}")
