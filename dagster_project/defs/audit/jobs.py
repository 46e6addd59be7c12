"""The ``verify_audit_log`` job and its hourly schedule.

Each run verifies the audit log's hash chain (:func:`dagster_project.audit.verify_chain`)
against the head recorded by the last successful run. That head is kept as an observation of
the asset key ``audit/audit_log`` in the Dagster instance, i.e. outside the warehouse, so that
rewriting the warehouse's chain consistently does not rewrite the anchor as well. An intact
chain records its new head; a broken one writes a critical event to ``analytics.alert_events``
and fails the run, and keeps doing so until the log is restored.
"""

import dagster as dg

from dagster_project.alert_events import alert_event, write_alert_events
from dagster_project.audit import AUDIT_LOG, Anchor, ChainReport, verify_chain
from dagster_project.metadata import markdown_table
from dagster_project.warehouse import Warehouse

AUDIT_LOG_KEY = dg.AssetKey(["audit", "audit_log"])
ALERT_SOURCE = "audit_chain"


def last_anchor(instance: dg.DagsterInstance) -> Anchor | None:
    """The head that the last successful verification recorded (None: never verified, or the
    log was empty then)."""
    records = instance.fetch_observations(AUDIT_LOG_KEY, limit=1).records
    if not records:
        return None
    metadata = records[0].asset_observation.metadata
    if "head_id" not in metadata:
        return None
    return Anchor(int(metadata["head_id"].value), str(metadata["head_hash"].value))


def _alert(report: ChainReport, anchor: Anchor | None, occurred_at) -> dict:
    problems = report.problems
    return alert_event(
        occurred_at, ALERT_SOURCE, "critical", AUDIT_LOG,
        f"audit log tampering detected: {problems.height} problem(s), "
        f"first {problems['problem'][0]}",
        {"problems": problems.to_dicts(), "entries": report.entries,
         "anchor": None if anchor is None else {"id": anchor.id, "entry_hash": anchor.entry_hash}},
    )


@dg.op
def verify_audit_chain(context: dg.OpExecutionContext, warehouse: Warehouse) -> None:
    """Verify every entry's hash and link and the last recorded head; record the new head, or
    raise a critical alert and fail."""
    anchor = last_anchor(context.instance)
    with warehouse.session() as s:
        report = verify_chain(s, anchor)
        checked_at = s.clock()
    if report.intact:
        head = {} if report.head is None else {
            "head_id": report.head.id, "head_hash": report.head.entry_hash}
        context.log_event(dg.AssetObservation(
            asset_key=AUDIT_LOG_KEY, description="hash chain verified",
            metadata={"entries": report.entries, **head,
                      "anchor_checked": "none" if anchor is None else f"{anchor.id}"}))
        context.log.info(f"{AUDIT_LOG}: {report.entries} entries, chain intact")
        return
    with warehouse.session() as s:
        write_alert_events(s, [_alert(report, anchor, checked_at)])
    raise dg.Failure(
        description=f"{AUDIT_LOG}: the hash chain is broken ({report.problems.height} "
                    "problem(s)); a critical alert was written to analytics.alert_events",
        metadata={"problems": dg.MetadataValue.md(markdown_table(report.problems))},
    )


@dg.job(description="Verify the audit log's hash chain (every entry's hash and link, and the "
        "head the last run recorded): an intact chain records its new head, a broken one "
        "writes a critical event to analytics.alert_events and fails.")
def verify_audit_log():
    verify_audit_chain()


verify_audit_log_schedule = dg.ScheduleDefinition(
    job=verify_audit_log,
    cron_schedule="45 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
