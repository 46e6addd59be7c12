"""Assemble the Dagster definitions: the defs folder plus the cross-cutting policies."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

import dagster as dg

from dagster_project.domains import DOMAINS
from dagster_project.settings import get_settings

HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=3), warn_window=timedelta(hours=90 / 60)
)
NIGHTLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=30), warn_window=timedelta(hours=26)
)
FRESHNESS = {"hourly": HOURLY_FRESHNESS, "nightly": NIGHTLY_FRESHNESS}


def with_freshness_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Hourly-refreshed domains must be at most 3 hours old; nightly ones 30 hours."""
    return dg.apply_freshness_policy(spec, FRESHNESS[DOMAINS[spec.group_name].cadence])


def executor() -> dg.ExecutorDefinition:
    """DuckDB admits one writing process, so the embedded mode runs steps in one process."""
    if get_settings().warehouse_backend == "duckdb":
        return dg.in_process_executor
    return dg.multiprocess_executor.configured({"max_concurrent": 2})


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # map_asset_specs is "preview" in 1.13
        fresh = loaded.map_asset_specs(func=with_freshness_policy)
    return dg.Definitions.merge(fresh, dg.Definitions(executor=executor()))
