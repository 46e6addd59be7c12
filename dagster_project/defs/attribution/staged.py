"""The attribution tables written a batch of clients at a time: each batch's rows go to staging
tables as the batch is fitted, and both tables are replaced from them at the end, in one
warehouse session (``warehouse.staging``). The asset, the devtools and the benchmark run this."""

from __future__ import annotations

from dataclasses import dataclass

from dagster_project.analytics.attribution import (
    AttributionSettings,
    JourneySource,
    attribute_batches,
)
from dagster_project.analytics.attribution.shapley_prior import ShapleyPrior
from dagster_project.warehouse import WarehouseSession
from dagster_project.warehouse.staging import StagedReplace

ATTRIBUTION = "analytics.channel_attribution"
COMPARISON = "analytics.attribution_model_comparison"
# DuckDB's memory while the batches are read: its cache of the marts' blocks otherwise grows
# with the marts (to the warehouse's limit) although each batch reads one client range
READER_MEMORY_LIMIT = "128MB"


@dataclass(frozen=True)
class Written:
    journeys: int  # journeys attributed
    batches: int
    shapley_prior: ShapleyPrior
    channels: tuple[str, ...]  # the channels of shapley_prior.q


def write_attribution(session: WarehouseSession, source: JourneySource,
                      settings: AttributionSettings,
                      memory_limit: str | None = READER_MEMORY_LIMIT) -> Written:
    """Fit every model on ``source`` batch by batch and replace both tables with the rows, one
    batch held at a time; ``memory_limit``: the warehouse's memory meanwhile
    (``WarehouseSession.memory_limit``)."""
    staged = StagedReplace(session, [ATTRIBUTION, COMPARISON])
    journeys = 0
    with session.memory_limit(memory_limit):
        run = attribute_batches(source, settings)
        for part in run.parts:
            staged.append(ATTRIBUTION, part.channel_attribution)
            staged.append(COMPARISON, part.model_comparison)
            journeys += part.journeys
        staged.finish()
    return Written(journeys, run.batches, run.shapley_prior, run.channels)
