"""``serving_versions_sensor``: every new asset materialization bumps that asset's version in
``ops.serving_versions``, which the serving API watches to invalidate its cache and push
dashboard updates (README "Serving API")."""

from __future__ import annotations

import warnings

import dagster as dg
import duckdb

from dagster_project.sensor_guards import duckdb_run_in_progress
from dagster_project.serving.versions import bump_versions
from dagster_project.warehouse import Warehouse

BATCH = 1000

def new_materializations(instance: dg.DagsterInstance, after: int | None
                         ) -> tuple[list[str], int | None]:
    """Asset keys (``schema/table``) materialized after event storage id ``after``, and the
    last storage id read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # get_event_records is deprecated for per-asset reads
        records = instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                                  after_cursor=after), limit=BATCH, ascending=True)
    keys = [r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records]
    return keys, (records[-1].storage_id if records else after)


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Bump ops.serving_versions for every asset materialized since the last "
           "tick, so the serving API drops its cached answers over it and pushes updates to "
           "dashboards.")
def serving_versions_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    if duckdb_run_in_progress(context.instance, warehouse):
        return dg.SkipReason("a run is writing the DuckDB warehouse; versions wait for it")
    after = int(context.cursor) if context.cursor else None
    keys, last = new_materializations(context.instance, after)
    if not keys:
        return dg.SkipReason("no new materialization")
    try:
        with warehouse.session() as s:
            bump_versions(s, keys)
    except duckdb.IOException as e:  # another process holds the DuckDB file: next tick
        return dg.SkipReason(f"warehouse busy, versions not bumped this tick: {e}")
    context.update_cursor(str(last))
    names = sorted(set(keys))
    return dg.SkipReason(f"bumped {len(names)} version(s): {', '.join(names[:20])}")
