"""Write the attribution tables that other groups read (``analytics.channel_attribution`` and
``analytics.attribution_model_comparison``) straight from the marts, as the attribution asset
computes them, for tests and benchmarks that need them as inputs without a Dagster run."""

from __future__ import annotations

from dagster_project.analytics.attribution import AttributionSettings, attribute_source
from dagster_project.defs.attribution.sources import WarehouseJourneys
from dagster_project.warehouse import Warehouse


def write_attribution_tables(warehouse: Warehouse, bootstrap_resamples: int) -> int:
    """Fit every model on the attribution marts with ``bootstrap_resamples`` resamples, write
    both tables (replace) and return the number of clients compared."""
    with warehouse.session() as s:
        result = attribute_source(WarehouseJourneys(s),
                                  AttributionSettings(bootstrap_resamples=bootstrap_resamples))
        s.write("analytics.channel_attribution", result.channel_attribution, "replace")
        s.write("analytics.attribution_model_comparison", result.model_comparison, "replace")
    return result.model_comparison["client_id"].n_unique()
