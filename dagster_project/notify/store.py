"""The alerting tables in ``ops`` and the reads that feed the lifecycle.

| table | grain | written by |
|---|---|---|
| ``ops.alert_rule_sets`` | applied rules file (version = sha256 of its text) | apply_alert_rules |
| ``ops.alert_rules`` | rule of the applied version | apply_alert_rules |
| ``ops.alerts`` | alert (alert_key): first/last seen, count, severity, status | evaluation, ack/resolve jobs |
| ``ops.alert_occurrences`` | occurrence (occurrence_id) with its decision | evaluation |
| ``ops.alert_notifications`` | notification (notification_id = idempotency key) | evaluation, delivery |
| ``ops.alert_deliveries`` | delivery attempt (attempt_id) | delivery |

:func:`evaluate` reads the new rows of every source within the rules' lookback (counted back
from each source's newest row, not from the clock), drops the occurrences already stored, folds
the rest into the alerts (:func:`~dagster_project.notify.lifecycle.advance`) and writes alerts,
occurrences and notifications in the caller's session, i.e. in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import polars as pl
import yaml

from dagster_project.analytics.monitoring.metric_catalog import METRICS
from dagster_project.audit import record_audit
from dagster_project.notify.lifecycle import (
    ALERT_SCHEMA,
    DECISION_SCHEMA,
    NOTIFICATION_SCHEMA,
    advance,
)
from dagster_project.notify.occurrences import (
    OCCURRENCE_SCHEMA,
    anomaly_occurrences,
    event_occurrences,
    mark_maintenance,
    threshold_occurrences,
)
from dagster_project.notify.rules import RuleSet, parse_rules
from dagster_project.warehouse import WarehouseSession

RULE_SETS = "ops.alert_rule_sets"
RULES = "ops.alert_rules"
ALERTS = "ops.alerts"
OCCURRENCES = "ops.alert_occurrences"
NOTIFICATIONS = "ops.alert_notifications"
DELIVERIES = "ops.alert_deliveries"
EVENTS = "analytics.alert_events"
ANOMALIES = "analytics.metric_anomalies"

_SQL_TYPES = {pl.String: "varchar", pl.Boolean: "boolean", pl.Int64: "bigint",
              pl.Float64: "double precision", pl.Datetime("us"): "timestamp"}
NOTIFICATION_COLUMNS = {**NOTIFICATION_SCHEMA, "attempt_limit": pl.Int64}
DELIVERY_SCHEMA = {
    "attempt_id": pl.String, "notification_id": pl.String, "channel": pl.String,
    "attempt": pl.Int64, "attempted_at": pl.Datetime("us"), "outcome": pl.String,
    "status_code": pl.Int64, "error": pl.String, "duration_ms": pl.Float64,
}
RULE_SET_SCHEMA = {"version": pl.String, "applied_at": pl.Datetime("us"),
                   "applied_by": pl.String, "rules_yaml": pl.String}
RULE_ROW_SCHEMA = {"version": pl.String, "rule": pl.String, "description": pl.String,
                   "metric": pl.String, "source": pl.String, "scope": pl.String,
                   "condition": pl.String, "severity": pl.String, "channels": pl.String,
                   "cooldown_s": pl.Float64, "escalation": pl.String}


def ensure_tables(s: WarehouseSession) -> None:
    """Create the ops tables that are missing (explicit column types, so an empty table has
    the same columns on both warehouses)."""
    for table, schema in ((RULE_SETS, RULE_SET_SCHEMA), (RULES, RULE_ROW_SCHEMA),
                          (ALERTS, ALERT_SCHEMA), (OCCURRENCES, DECISION_SCHEMA),
                          (NOTIFICATIONS, NOTIFICATION_COLUMNS), (DELIVERIES, DELIVERY_SCHEMA)):
        s.create_table(table, [(c, _SQL_TYPES[t]) for c, t in schema.items()])


def _definitions(rules: RuleSet | None) -> dict | None:
    """The rules as their file states them, by name (the audit log's before / after)."""
    if rules is None:
        return None
    return {"version": rules.version,
            "rules": {r["name"]: r for r in yaml.safe_load(rules.text)["rules"]}}


def rule_rows(rules: RuleSet) -> pl.DataFrame:
    """``ops.alert_rules``: one row per rule of ``rules``, for reading (BI, the launchpad)."""
    rows = [{"version": rules.version, "rule": r.name, "description": r.description,
             "metric": r.metric, "source": r.source, "scope": r.scope,
             "condition": json.dumps({k: v for k, v in vars(r.condition).items()
                                      if v not in (None, ())}),
             "severity": r.severity, "channels": ",".join(r.channels),
             "cooldown_s": r.cooldown.total_seconds(),
             "escalation": None if r.escalation is None else json.dumps({
                 "after": r.escalation.after, "within_s": r.escalation.within.total_seconds(),
                 "severity": r.escalation.severity,
                 "add_channels": list(r.escalation.add_channels)})} for r in rules.rules]
    return pl.DataFrame(rows, schema=RULE_ROW_SCHEMA)


def apply_rule_set(s: WarehouseSession, rules: RuleSet, actor: str) -> bool:
    """Make ``rules`` the applied version: append it to ``ops.alert_rule_sets``, replace
    ``ops.alert_rules`` and audit the change (before and after, by rule name). False, and
    nothing written, when that version is the applied one already."""
    ensure_tables(s)
    before = applied_rules(s)
    if before is not None and before.version == rules.version:
        return False
    s.write(RULE_SETS, pl.DataFrame([{"version": rules.version, "applied_at": s.clock(),
                                      "applied_by": actor, "rules_yaml": rules.text}],
                                    schema=RULE_SET_SCHEMA), mode="append")
    s.write(RULES, rule_rows(rules), mode="replace")
    record_audit(s, actor, "apply_alert_rules", RULES, _definitions(before), _definitions(rules))
    return True


def applied_rules(s: WarehouseSession) -> RuleSet | None:
    """The rules file applied last (None: never applied)."""
    if not s.table_exists(RULE_SETS):
        return None
    text = s.scalar(f"select rules_yaml from {RULE_SETS} order by applied_at desc, version limit 1")
    return None if text is None else parse_rules(text, RULE_SETS)


def _recent(s: WarehouseSession, table: str, time_column: str, lookback: dt.timedelta,
            columns: str = "*") -> pl.DataFrame | None:
    if not s.table_exists(table):
        return None
    newest = s.scalar(f"select max({time_column}) from {table}")
    if newest is None:
        return None
    return s.read(f"select {columns} from {table} where {time_column} >= ?", [newest - lookback])


def threshold_values(s: WarehouseSession, rules: RuleSet) -> pl.DataFrame:
    """Each threshold rule's metric per entity and hour (or day) over the lookback, computed
    in the warehouse from the catalog's mart and value SQL."""
    frames = [pl.DataFrame(schema={"rule": pl.String, "entity": pl.String,
                                   "ts": pl.Datetime("us"), "value": pl.Float64})]
    for rule in rules.rules:
        if rule.condition.kind != "threshold":
            continue
        m = METRICS[rule.metric]
        mart = f"marts.{m.mart}"
        if not s.table_exists(mart):
            continue
        entity = (f"concat_ws('/', {', '.join(f'cast({c} as varchar)' for c in m.entity_columns)})"
                  if m.entity_columns else f"'{m.entity_kind}'")
        newest = s.scalar(f"select max({m.time_column}) from {mart}")
        if newest is None:
            continue
        since = dt.datetime.combine(newest, dt.time()) if type(newest) is dt.date else newest
        frames.append(s.read(
            f"select cast(? as varchar) as rule, {entity} as entity,"
            f" cast({m.time_column} as timestamp) as ts,"
            f" cast({m.value_sql} as double precision) as value"
            f" from {mart} where {m.time_column} >= ? group by 2, 3",
            [rule.name, since - rules.lookback]).cast({"ts": pl.Datetime("us")}))
    return pl.concat(frames)


@dataclass(frozen=True)
class Evaluation:
    occurrences: int  # new occurrences found
    notifications: int  # notifications queued
    decisions: dict[str, int]  # decision -> count


def evaluate(s: WarehouseSession, rules: RuleSet, now: dt.datetime) -> Evaluation:
    """Turn every source's new rows into occurrences, alerts and pending notifications."""
    ensure_tables(s)
    found = [pl.DataFrame(schema=OCCURRENCE_SCHEMA)]
    events = _recent(s, EVENTS, "occurred_at", rules.lookback)
    if events is not None:
        found.append(event_occurrences(events, rules))
    anomalies = _recent(s, ANOMALIES, "ts", rules.lookback)
    if anomalies is not None:
        found.append(anomaly_occurrences(anomalies, rules))
    found.append(threshold_occurrences(threshold_values(s, rules), rules))
    occ = pl.concat(found).unique("occurrence_id", keep="first")
    if occ.is_empty():
        return Evaluation(0, 0, {})
    ids = s.temp_table("new_occurrences", occ.select("occurrence_id", "alert_key"))
    stored = s.read(f"select o.occurrence_id from {OCCURRENCES} o join {ids} n"
                    " using (occurrence_id)")
    occ = occ.join(stored, on="occurrence_id", how="anti")
    if occ.is_empty():
        return Evaluation(0, 0, {})
    occ = mark_maintenance(occ, rules)
    keys = s.temp_table("new_alert_keys", occ.select("alert_key").unique())
    alerts = s.read(f"select a.* from {ALERTS} a join {keys} k using (alert_key)")
    history = s.read(f"select o.alert_key, o.occurred_at, o.occurrence_id from {OCCURRENCES} o"
                     f" join {keys} k using (alert_key)")
    result = advance(alerts.cast(ALERT_SCHEMA), history, occ, rules, now)
    s.write(ALERTS, result.alerts, mode="upsert", key=["alert_key"])
    s.write(OCCURRENCES, result.decisions, mode="upsert", key=["occurrence_id"])
    queued = result.notifications.with_columns(attempt_limit=pl.lit(rules.delivery.max_attempts,
                                                                    pl.Int64))
    s.write(NOTIFICATIONS, queued, mode="upsert", key=["notification_id"])
    counts = dict(result.decisions.group_by("decision").len().iter_rows())
    return Evaluation(occ.height, queued.height, counts)
