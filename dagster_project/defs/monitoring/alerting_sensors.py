"""Alerting sensors: delivery every minute, and failed runs and failed asset checks turned into
``analytics.alert_events`` (Dagster does not fail a run for a failed check)."""

from __future__ import annotations

import datetime as dt
import json
import time

import dagster as dg
import duckdb

from dagster_project.alert_events import alert_event, write_alert_events
from dagster_project.defs.monitoring.alerting import NOT_APPLIED, alerting_pass
from dagster_project.sensor_guards import duckdb_run_in_progress
from dagster_project.warehouse import Warehouse

DELIVERY_TICK_SECONDS = 40.0  # a sensor evaluation must end within Dagster's 60 s
RUN_SOURCE = "dagster_run"
CHECK_SOURCE = "asset_check"
CHECK_SEVERITY = {"ERROR": "critical", "WARN": "warning"}

@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Fold new anomalies, threshold crossings and alert events into ops.alerts "
           "and deliver due notifications (retries, dead letters); each tick says how many were "
           "sent, retried and dead-lettered.")
def alert_delivery_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    if duckdb_run_in_progress(context.instance, warehouse):
        return dg.SkipReason("a run is writing the DuckDB warehouse; delivery waits")
    try:
        result = alerting_pass(warehouse, DELIVERY_TICK_SECONDS)
    except duckdb.IOException as e:  # another process holds the DuckDB file: next tick
        return dg.SkipReason(f"warehouse busy, nothing delivered this tick: {e}")
    if result is None:
        return dg.SkipReason(NOT_APPLIED)
    context.log.info(str(result))
    cursor = json.dumps({"last_pass": dt.datetime.now(dt.UTC).isoformat(),
                         "sent": result.delivery.sent, "retried": result.delivery.retried,
                         "dead_lettered": result.delivery.dead_lettered})
    return dg.SensorResult(skip_reason=dg.SkipReason(str(result)), cursor=cursor)


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None)


def run_failure_event(run: dg.DagsterRun, failed_at: float, message: str) -> dict:
    """The alert event of a failed run: one alert per job (the title names the job)."""
    return alert_event(_utc(failed_at), RUN_SOURCE, "critical", run.job_name,
                       f"Run failed: {run.job_name}",
                       {"run_id": run.run_id, "message": message, "tags": dict(run.tags)})


def _root_cause(error) -> str:
    """The innermost error's message (the op's own exception, not Dagster's wrapper)."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Every failed run becomes a critical event in "
                       "analytics.alert_events (source dagster_run).")
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, warehouse: Warehouse) -> None:
    run = context.dagster_run
    record = context.instance.get_run_record_by_id(run.run_id)
    failed_at = record.end_time if record is not None and record.end_time else time.time()
    steps = "; ".join(f"{e.step_key}: {_root_cause(e.event_specific_data.error)}"
                      for e in context.get_step_failure_events() if e.event_specific_data.error)
    message = context.failure_event.message or ""
    with warehouse.session() as s:
        write_alert_events(s, [run_failure_event(run, failed_at,
                                                 f"{message} {steps}".strip())])


def check_failure_event(evaluation, timestamp: float, run_id: str) -> dict:
    """The alert event of a failed asset check: one alert per asset and check."""
    asset = evaluation.asset_key.to_user_string()
    return alert_event(_utc(timestamp), CHECK_SOURCE,
                       CHECK_SEVERITY.get(evaluation.severity.value, "warning"), asset,
                       f"Check {evaluation.check_name} failed on {asset}",
                       {"run_id": run_id, "description": evaluation.description,
                        "severity": evaluation.severity.value})


FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED]


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every failed asset check becomes an event in analytics.alert_events "
           "(source asset_check; ERROR checks critical, WARN checks warning).")
def failed_check_alert_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    """Reads the check evaluations of the runs finished since the cursor (the last such run's
    update time; the events are idempotent, so a run read twice changes nothing)."""
    after = dt.datetime.fromisoformat(context.cursor) if context.cursor else None
    runs = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED, updated_after=after), limit=200,
        order_by="update_timestamp", ascending=True)
    if not runs:
        return dg.SkipReason("no finished runs since the last tick")
    failed = [check_failure_event(r.event_log_entry.dagster_event.event_specific_data,
                                  r.event_log_entry.timestamp, run.dagster_run.run_id)
              for run in runs
              for r in context.instance.get_records_for_run(
                  run.dagster_run.run_id,
                  of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
              if not r.event_log_entry.dagster_event.event_specific_data.passed]
    if failed:
        with warehouse.session() as s:
            write_alert_events(s, failed)
    return dg.SensorResult(skip_reason=dg.SkipReason(
        f"{len(runs)} finished run(s), {len(failed)} failed check(s): alert events written"),
        cursor=runs[-1].update_timestamp.isoformat())
