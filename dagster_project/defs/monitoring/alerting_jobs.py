"""Admin-launched alerting jobs: apply the rules file, acknowledge or resolve an alert,
re-deliver dead letters, and run one alerting pass by hand. Every change is audited
(``audit.audit_log``)."""

import dagster as dg
import polars as pl
import yaml
from pydantic import Field

from dagster_project.audit import record_audit
from dagster_project.defs.monitoring.alerting import NOT_APPLIED, alerting_pass
from dagster_project.metadata import markdown_table
from dagster_project.notify.deliver import redeliver_dead_letters
from dagster_project.notify.rules import RULES_FILE, RulesError, RuleSet, load_rules
from dagster_project.notify.store import (
    ALERTS,
    RULE_ROW_SCHEMA,
    RULE_SET_SCHEMA,
    RULE_SETS,
    RULES,
    applied_rules,
    ensure_tables,
)
from dagster_project.warehouse import Warehouse


class ApplyRulesConfig(dg.Config):
    path: str = Field(default=str(RULES_FILE), description="The rules file to validate and "
                      "apply (the version-controlled dagster_project/notify/alert_rules.yml).")
    actor: str = Field(description="Who applies it (recorded in the audit log).")


def _definitions(rules: RuleSet | None) -> dict | None:
    """The rules as their file states them, by name (the audit log's before / after)."""
    if rules is None:
        return None
    return {"version": rules.version,
            "rules": {r["name"]: r for r in yaml.safe_load(rules.text)["rules"]}}


def _rule_rows(rules: RuleSet) -> pl.DataFrame:
    rows = [{"version": rules.version, "rule": r.name, "description": r.description,
             "metric": r.metric, "source": r.source, "scope": r.scope,
             "condition": str({k: v for k, v in vars(r.condition).items() if v not in (None, ())}),
             "severity": r.severity, "channels": ",".join(r.channels),
             "cooldown_s": r.cooldown.total_seconds(),
             "escalation": None if r.escalation is None else
             f"after {r.escalation.after} within {r.escalation.within}: {r.escalation.severity}"
             f" + {','.join(r.escalation.add_channels)}"} for r in rules.rules]
    return pl.DataFrame(rows, schema=RULE_ROW_SCHEMA)


@dg.op
def apply_alert_rules_op(context: dg.OpExecutionContext, config: ApplyRulesConfig,
                         warehouse: Warehouse) -> None:
    """Validate the rules file; when it differs from the applied version, record it in
    ``ops.alert_rule_sets`` and ``ops.alert_rules`` and audit the change."""
    try:
        rules = load_rules(config.path)
    except RulesError as e:
        raise dg.Failure(description=f"alert rules refused: {len(e.problems)} problem(s)",
                         metadata={"problems": dg.MetadataValue.md(
                             "\n".join(f"- {p}" for p in e.problems))}) from None
    with warehouse.session() as s:
        ensure_tables(s)
        before = applied_rules(s)
        if before is not None and before.version == rules.version:
            context.log.info(f"rules version {rules.version[:12]} is applied already")
            return
        s.write(RULE_SETS, pl.DataFrame([{"version": rules.version, "applied_at": s.clock(),
                                          "applied_by": config.actor, "rules_yaml": rules.text}],
                                        schema=RULE_SET_SCHEMA), mode="append")
        table = _rule_rows(rules)
        s.write(RULES, table, mode="replace")
        record_audit(s, config.actor, "apply_alert_rules", RULES, _definitions(before),
                     _definitions(rules))
    context.add_output_metadata({"version": rules.version, "rules": len(rules.rules),
                                 "rules_table": dg.MetadataValue.md(markdown_table(table))})


@dg.job(description="Validate the alert rules file (unknown metric or channel, bad threshold, "
        "cron or duration: every problem listed) and apply it: ops.alert_rule_sets, "
        "ops.alert_rules, and an audit.audit_log entry with the rules before and after.")
def apply_alert_rules():
    apply_alert_rules_op()


class AlertActionConfig(dg.Config):
    alert_key: str = Field(description="The alert (ops.alerts.alert_key).")
    actor: str = Field(description="Who acts (recorded in the audit log).")
    note: str = Field(description="Why: what was found or done.")


#: target status -> the statuses it may be reached from
TRANSITIONS = {"acknowledged": ("open",), "resolved": ("open", "acknowledged")}


def set_status(warehouse: Warehouse, config: AlertActionConfig, target: str) -> dict:
    """Move an alert to ``target`` with a note, audited; dg.Failure for an unknown alert or a
    transition that :data:`TRANSITIONS` does not allow."""
    with warehouse.session() as s:
        ensure_tables(s)
        found = s.read(f"select * from {ALERTS} where alert_key = ?", [config.alert_key])
        if found.is_empty():
            raise dg.Failure(description=f"no alert {config.alert_key!r} in {ALERTS}")
        before = found.row(0, named=True)
        if before["status"] not in TRANSITIONS[target]:
            raise dg.Failure(description=f"alert {config.alert_key} is {before['status']}: "
                             f"it cannot become {target}")
        s.execute(f"update {ALERTS} set status = ?, note = ?, updated_at = ? where alert_key = ?",
                  [target, config.note, s.clock(), config.alert_key])
        record_audit(s, config.actor, f"alert_{target}", f"{ALERTS}/{config.alert_key}",
                     {"status": before["status"], "note": before["note"]},
                     {"status": target, "note": config.note})
    return {"alert_key": config.alert_key, "from": before["status"], "to": target}


@dg.op
def acknowledge_alert_op(context: dg.OpExecutionContext, config: AlertActionConfig,
                         warehouse: Warehouse) -> None:
    """Acknowledge an open alert: further occurrences are counted, not sent (escalations
    still are)."""
    context.add_output_metadata(set_status(warehouse, config, "acknowledged"))


@dg.op
def resolve_alert_op(context: dg.OpExecutionContext, config: AlertActionConfig,
                     warehouse: Warehouse) -> None:
    """Resolve an open or acknowledged alert: its next occurrence reopens it as new."""
    context.add_output_metadata(set_status(warehouse, config, "resolved"))


@dg.job(description="Acknowledge an alert with a note (audited): later occurrences are counted "
        "but not sent, except an escalation.")
def acknowledge_alert():
    acknowledge_alert_op()


@dg.job(description="Resolve an alert with a note (audited); its next occurrence reopens it.")
def resolve_alert():
    resolve_alert_op()


class RedeliverConfig(dg.Config):
    actor: str = Field(description="Who re-delivers (recorded in the audit log).")
    channel: str | None = Field(default=None, description="Only this channel's dead letters.")
    alert_key: str | None = Field(default=None, description="Only this alert's dead letters.")


@dg.op
def redeliver_dead_letters_op(context: dg.OpExecutionContext, config: RedeliverConfig,
                              warehouse: Warehouse) -> None:
    """Set dead letters back to pending with a fresh attempt budget (the next delivery pass
    sends them with their original idempotency keys)."""
    with warehouse.session() as s:
        rules = applied_rules(s)
        if rules is None:
            raise dg.Failure(description=NOT_APPLIED)
        n = redeliver_dead_letters(s, rules, config.channel, config.alert_key)
        if n:
            record_audit(s, config.actor, "redeliver_dead_letters", "ops.alert_notifications",
                         None, {"channel": config.channel, "alert_key": config.alert_key,
                                "notifications": n})
    context.log.info(f"{n} dead letter(s) set back to pending")
    context.add_output_metadata({"requeued": n})


@dg.job(name="redeliver_dead_letters", description="Re-deliver dead-lettered notifications (optionally of one channel or "
        "alert), audited: they go back to pending with a fresh attempt budget.")
def redeliver_dead_letters_job():
    redeliver_dead_letters_op()


class PassConfig(dg.Config):
    max_seconds: float = Field(default=300.0, description="Stop claiming delivery batches "
                               "after this long (what is left waits for the sensor).")


@dg.op
def alerting_pass_op(context: dg.OpExecutionContext, config: PassConfig,
                     warehouse: Warehouse) -> None:
    """Evaluate every source and deliver what is due (what the delivery sensor does)."""
    result = alerting_pass(warehouse, config.max_seconds)
    if result is None:
        raise dg.Failure(description=NOT_APPLIED)
    context.log.info(str(result))
    d = result.delivery
    context.add_output_metadata({
        "occurrences": result.evaluation.occurrences,
        "notifications_queued": result.evaluation.notifications,
        "decisions": dg.MetadataValue.json(result.evaluation.decisions),
        "sent": d.sent, "retried": d.retried, "dead_lettered": d.dead_lettered})


@dg.job(description="One alerting pass by hand: fold new anomalies, threshold crossings and "
        "alert events into ops.alerts and deliver due notifications.")
def process_alerts():
    alerting_pass_op()
