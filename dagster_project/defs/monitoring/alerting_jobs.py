"""Admin-launched alerting jobs: apply the rules file, acknowledge or resolve an alert,
re-deliver dead letters, and run one alerting pass by hand. Every change is audited
(``audit.audit_log``)."""

import dagster as dg
from pydantic import Field

from dagster_project.audit import record_audit
from dagster_project.defs.monitoring.alerting import NOT_APPLIED, alerting_pass
from dagster_project.metadata import markdown_table
from dagster_project.notify.deliver import redeliver_dead_letters
from dagster_project.notify.rules import RULES_FILE, RulesError, load_rules
from dagster_project.notify.store import (
    ALERTS,
    applied_rules,
    apply_rule_set,
    ensure_tables,
    rule_rows,
)
from dagster_project.warehouse import Warehouse


class ApplyRulesConfig(dg.Config):
    path: str = Field(default=str(RULES_FILE), description="The rules file to validate and "
                      "apply (the version-controlled dagster_project/notify/alert_rules.yml).")
    actor: str = Field(description="Who applies it (recorded in the audit log).")


@dg.op
def apply_alert_rules_op(context: dg.OpExecutionContext, config: ApplyRulesConfig,
                         warehouse: Warehouse) -> None:
    """Validate the rules file; when it differs from the applied version, record it in
    ``ops.alert_rule_sets`` and ``ops.alert_rules`` and audit the change."""
    require_actor(config.actor)
    try:
        rules = load_rules(config.path)
    except RulesError as e:
        raise dg.Failure(description=f"alert rules refused: {len(e.problems)} problem(s)",
                         metadata={"problems": dg.MetadataValue.md(
                             "\n".join(f"- {p}" for p in e.problems))}) from None
    with warehouse.session() as s:
        changed = apply_rule_set(s, rules, config.actor)
    if not changed:
        context.log.info(f"rules version {rules.version[:12]} is applied already")
    context.add_output_metadata({"version": rules.version, "rules": len(rules.rules),
                                 "changed": changed,
                                 "rules_table": dg.MetadataValue.md(markdown_table(
                                     rule_rows(rules)))})


def require_actor(actor: str) -> None:
    """dg.Failure unless someone is named: every change is audited under its actor."""
    if not actor.strip():
        raise dg.Failure(description="actor is empty: name who acts (recorded in the audit log)")


# the Launchpad opens with these configs; the people and the alert are left empty, so launching
# one unedited is refused
APPLY_RULES_LAUNCHPAD = {"ops": {"apply_alert_rules_op": {"config": {
    "path": str(RULES_FILE), "actor": ""}}}}


def alert_action_launchpad(op_name: str) -> dict:
    return {"ops": {op_name: {"config": {"alert_key": "", "actor": "", "note": ""}}}}


@dg.job(config=APPLY_RULES_LAUNCHPAD,
        description="Validate the alert rules file (unknown metric or channel, bad threshold, "
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
    require_actor(config.actor)
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


@dg.job(config=alert_action_launchpad("acknowledge_alert_op"),
        description="Acknowledge an alert with a note (audited): later occurrences are counted "
        "but not sent, except an escalation.")
def acknowledge_alert():
    acknowledge_alert_op()


@dg.job(config=alert_action_launchpad("resolve_alert_op"),
        description="Resolve an alert with a note (audited); its next occurrence reopens it.")
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
    require_actor(config.actor)
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
