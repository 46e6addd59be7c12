"""One alerting pass, shared by the delivery sensor and the ``process_alerts`` job: fold every
source's new rows into alerts and notifications (:func:`dagster_project.notify.store.evaluate`),
then deliver what is due (:func:`dagster_project.notify.deliver.deliver_due`); and the
``analytics/alert_activity`` asset that summarises the alerting per day and rule."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import polars as pl

from dagster_project.defs.dbt.relation_metadata import TABLE_NAME
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, table_metadata
from dagster_project.notify.activity import alert_activity as activity
from dagster_project.notify.deliver import DeliverySummary, deliver_due
from dagster_project.notify.store import (
    ALERTS,
    NOTIFICATIONS,
    OCCURRENCES,
    Evaluation,
    applied_rules,
    ensure_tables,
    evaluate,
)
from dagster_project.plots import bars, plot_entry
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("monitoring")

NOT_APPLIED = "no alert rules applied yet: run the apply_alert_rules job"

# Kept by the alerting pass and the acknowledge / resolve jobs, not by an asset; declared so
# that reporting.rpt_alerts (its dbt source) shows where its rows come from.
alerts_table = dg.AssetSpec(
    ["ops", "alerts"], group_name=DOMAIN.name, owners=DOMAIN.owners,
    kinds={"table", get_settings().warehouse_backend}, metadata={TABLE_NAME: ALERTS},
    description="Every alert and its lifecycle state (open, acknowledged, resolved), one row "
    "per alert: kept by the alerting pass (the delivery sensor, the process_alerts job) and "
    "the acknowledge_alert and resolve_alert jobs, not materialized by a run.")


@dataclass(frozen=True)
class Pass:
    evaluation: Evaluation
    delivery: DeliverySummary

    def __str__(self) -> str:
        return (f"{self.evaluation.occurrences} new occurrence(s), "
                f"{self.evaluation.notifications} notification(s) queued; {self.delivery}")


def alerting_pass(warehouse: Warehouse, max_seconds: float = 40.0) -> Pass | None:
    """Evaluate, then deliver for at most ``max_seconds``; None when no rules are applied."""
    with warehouse.session() as s:
        rules = applied_rules(s)
        if rules is None:
            return None
        evaluation = evaluate(s, rules, s.clock())
    return Pass(evaluation, deliver_due(warehouse.session, rules, max_seconds))


@dg.asset(key=["analytics", "alert_activity"], group_name=DOMAIN.name, owners=DOMAIN.owners,
          kinds={"python", "polars", get_settings().warehouse_backend})
def alert_activity(warehouse: Warehouse) -> dg.MaterializeResult:
    """Alerting per day and rule, for BI and for a look at the alerting itself: occurrences,
    what the lifecycle decided (sent, escalated, held by the cooldown or an acknowledgement,
    muted by maintenance) and the notifications' states (delivered, pending, dead-lettered).
    Read from the ops tables the delivery sensor keeps (README "Alerts and delivery"); the
    metadata lists the open alerts by rule and severity."""
    with warehouse.session() as s:
        ensure_tables(s)
        decisions = s.read(f"select rule, occurred_at, decision from {OCCURRENCES}")
        notifications = s.read(f"select rule, occurred_at, status from {NOTIFICATIONS}")
        open_alerts = s.read(f"select rule, severity, count(*) as alerts from {ALERTS}"
                             " where status <> 'resolved' group by rule, severity"
                             " order by rule, severity")
        df = activity(decisions, notifications)
        s.write("analytics.alert_activity", df)
    return dg.MaterializeResult(metadata={
        **table_metadata(df), "open_alerts": dg.MetadataValue.md(markdown_table(open_alerts)),
        **plot_entry(df, _occurrences_chart, "occurrences per rule", "no alert has occurred yet")})


def _occurrences_chart(df: pl.DataFrame):
    """Occurrences per rule over the whole history."""
    per = df.group_by("rule").agg(pl.col("occurrences").sum()).sort("occurrences", descending=True)
    return bars(per["rule"].to_list(), per["occurrences"], "Alert occurrences per rule", "occurrences")
