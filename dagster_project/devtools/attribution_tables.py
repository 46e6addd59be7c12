"""Write the attribution tables that other groups read (``analytics.channel_attribution`` and
``analytics.attribution_model_comparison``) straight from the marts, as the attribution asset
computes and writes them, for tests and benchmarks that need them as inputs without a Dagster
run."""

from __future__ import annotations

from dagster_project.analytics.attribution import AttributionSettings
from dagster_project.defs.attribution.sources import WarehouseJourneys
from dagster_project.defs.attribution.staged import COMPARISON, write_attribution
from dagster_project.warehouse import Warehouse


def write_attribution_tables(warehouse: Warehouse, bootstrap_resamples: int) -> int:
    """Fit every model on the attribution marts with ``bootstrap_resamples`` resamples, write
    both tables (replace) and return the number of clients compared."""
    with warehouse.session() as s:
        write_attribution(s, WarehouseJourneys(s),
                          AttributionSettings(bootstrap_resamples=bootstrap_resamples))
        return int(s.scalar(f"select count(distinct client_id) from {COMPARISON}"))
