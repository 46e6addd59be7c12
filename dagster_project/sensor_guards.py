"""What the sensors that write the warehouse check before a tick."""

from __future__ import annotations

import dagster as dg

from dagster_project.warehouse import Warehouse

ACTIVE = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
          dg.DagsterRunStatus.CANCELING]


def duckdb_run_in_progress(instance: dg.DagsterInstance, warehouse: Warehouse) -> bool:
    """True while a run may be writing the DuckDB warehouse: DuckDB admits one writing process,
    so a run (and its dbt build) must not find the file held by a sensor's tick; the tick's work
    waits for the next one. Always False on PostgreSQL."""
    return warehouse.backend == "duckdb" and bool(
        instance.get_run_records(filters=dg.RunsFilter(statuses=ACTIVE), limit=1))
