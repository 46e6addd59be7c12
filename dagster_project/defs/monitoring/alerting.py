"""One alerting pass, shared by the delivery sensor and the ``process_alerts`` job: fold every
source's new rows into alerts and notifications (:func:`dagster_project.notify.store.evaluate`),
then deliver what is due (:func:`dagster_project.notify.deliver.deliver_due`)."""

from __future__ import annotations

from dataclasses import dataclass

from dagster_project.notify.deliver import DeliverySummary, deliver_due
from dagster_project.notify.store import Evaluation, applied_rules, evaluate
from dagster_project.warehouse import Warehouse

NOT_APPLIED = "no alert rules applied yet: run the apply_alert_rules job"


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
