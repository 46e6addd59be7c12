"""The scheduled export: chosen reporting tables to Parquet and CSV in a dated folder."""

from datetime import UTC, date, datetime

import dagster as dg
from pydantic import Field

from dagster_project.exports import ExportConfig, export_tables, load_config
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse


class ExportRunConfig(dg.Config):
    export_date: str = Field(default="", description="The dated folder, YYYY-MM-DD; empty: "
                             "today (UTC). The schedule passes its tick's date.")
    tables: list[str] = Field(default_factory=list, description="reporting.<name> tables to "
                              "export; empty: the list in dagster_project/exports/exports.yml.")


@dg.op
def export_reporting_tables(context: dg.OpExecutionContext, config: ExportRunConfig,
                            warehouse: Warehouse) -> None:
    """Write each table as Parquet and CSV with a manifest of row counts and SHA-256 checksums
    into <folder>/<date>/, the whole folder published at once (see exports/export.py)."""
    configured = load_config(get_settings().data_dir)
    chosen = ExportConfig(configured.folder, tuple(config.tables) or configured.tables)
    day = date.fromisoformat(config.export_date) if config.export_date else datetime.now(UTC).date()
    with warehouse.session() as session:
        manifest = export_tables(session, chosen, day)
    folder = chosen.folder / day.isoformat()
    context.log.info(f"exported {len(manifest['tables'])} tables to {folder}")
    context.add_output_metadata({
        "folder": dg.MetadataValue.path(str(folder)),
        **{entry["table"]: entry["rows"] for entry in manifest["tables"]},
    })


@dg.job(description="Export the reporting tables of dagster_project/exports/exports.yml to "
        "Parquet and CSV in <data>/exports/<date>/ with manifest.json (rows, SHA-256); "
        "atomic and idempotent. Daily at 03:30 UTC, after nightly_refresh.")
def export_reporting():
    export_reporting_tables()


@dg.schedule(job=export_reporting, cron_schedule="30 3 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def export_reporting_daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=day, run_config={
        "ops": {"export_reporting_tables": {"config": {"export_date": day}}}})
