"""Jobs, schedules and the landing-file sensor."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from dagster_project.defs.dbt.test_dependencies import test_dependencies
from dagster_project.domains import groups
from dagster_project.ingest.files import visible_paths
from dagster_project.ingest.read import is_readable_suffix
from dagster_project.settings import get_settings

HOURLY_TEST_WINDOW = 6  # hours: a run's rows are minutes old when its tests run

ingest_selection = dg.AssetSelection.groups("ingest")
# the hourly domains, the models their dbt tests also read (dim_clients for the relationships
# tests), and everything those read
hourly_selection = (dg.AssetSelection.groups(*groups("hourly"))
                    | dg.AssetSelection.assets(*test_dependencies(groups("hourly")))).upstream()

ingest_job = dg.define_asset_job(
    "ingest_landing_files",
    selection=ingest_selection,
    description="Load new landing files into raw.* (validated; bad rows quarantined).",
)
# dbt unit tests check the models' SQL on fixed rows, so they belong to CI (`make test` builds
# the project with them), not to every scheduled run: dbt's docs recommend leaving them out of
# production builds. A run launched with unit_tests: true still runs them.
DBT_OPS = ("dbt_models", "dbt_reporting_models")
nightly_refresh_job = dg.define_asset_job(
    "nightly_refresh",
    selection=dg.AssetSelection.all(),
    description="Everything: ingest, staging, every mart and analytics table.",
    config={"ops": {op: {"config": {"unit_tests": False}} for op in DBT_OPS}},
)
hourly_refresh_job = dg.define_asset_job(
    "hourly_refresh",
    selection=hourly_selection,
    description="Ingest plus the hourly domains' marts (performance, revenue), incrementally, and "
    "what their tests read.",
    # tests read only the rows written in the last hours; unit tests (of the SQL) are skipped
    config={"ops": {op: {"config": {"unit_tests": False, "test_window_hours": HOURLY_TEST_WINDOW}}
                    for op in DBT_OPS}},
)

nightly_refresh_schedule = dg.ScheduleDefinition(
    job=nightly_refresh_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
hourly_refresh_schedule = dg.ScheduleDefinition(
    job=hourly_refresh_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def newest_landing_mtime(landing_dir: Path) -> tuple[int, int]:
    """(newest modification time in ns, number of files) over the landing data files: the
    files ingest reads (the same suffixes, in any case; hidden ones skipped alike)."""
    if not landing_dir.is_dir():
        return 0, 0
    stamps = [p.stat().st_mtime_ns for p in visible_paths(landing_dir)
              if is_readable_suffix(p) and p.is_file()]
    return (max(stamps), len(stamps)) if stamps else (0, 0)


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_files_sensor(context: dg.SensorEvaluationContext):
    """Start ingestion when files newer than the last seen ones land in the landing folder."""
    newest, count = newest_landing_mtime(get_settings().landing_dir)
    seen = int(context.cursor or 0)
    if newest <= seen:
        return dg.SkipReason("no new landing files")
    context.update_cursor(str(newest))
    return dg.RunRequest(run_key=f"landing-{newest}", tags={"landing_files": str(count)})
