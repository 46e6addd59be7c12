"""The alert lifecycle: new occurrences folded into the alerts they belong to, and the
notifications they call for.

An alert (one ``alert_key``, a row of ``ops.alerts``) keeps ``first_seen``, ``last_seen``,
``occurrences`` (count), ``severity``, ``escalated`` and ``status`` (``open``, ``acknowledged``,
``resolved``; the acknowledge and resolve jobs set the last two). Each new occurrence, in time
order within its key, gets one *decision* (:data:`DECISIONS`), the first that applies:

1. ``muted``: inside a maintenance window: counted, never sent;
2. ``new``: the key's first occurrence, or the first after the alert was resolved (it reopens);
3. ``escalated``: the escalation's ``after`` occurrences (this one included) fall within its
   ``within`` window (counted over every stored occurrence of the key) and the alert was not
   escalated yet: the severity becomes the escalation's, its ``add_channels`` join the rule's;
   sent even during the cooldown or after an acknowledgement;
4. ``acknowledged``: someone acknowledged the alert: counted, not sent;
5. ``cooldown``: less than the rule's cooldown after the last notified occurrence (event time,
   so the result does not depend on when the sensor ran): counted, not sent;
6. ``repeat``: sent again.

``new``, ``escalated`` and ``repeat`` make one notification per channel (the rule's, plus the
escalation's once escalated), ``notification_id = sha256(occurrence_id | channel)``: the
idempotency key every delivery attempt carries.

The decisions are sequential within a key (a cooldown starts at the last *sent* occurrence), so
the occurrences are processed rank by rank: the k-th new occurrence of every key at once,
vectorized across keys; the number of rounds is the largest number of new occurrences one key
has in the batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from dagster_project.notify.occurrences import OCCURRENCE_SCHEMA, stable_hash
from dagster_project.notify.rules import RuleSet

DECISIONS = {
    "muted": "inside a maintenance window: counted, not sent",
    "new": "first occurrence of the alert (or first after it was resolved): sent",
    "escalated": "the escalation's count was reached within its window: sent, with the "
                 "escalation's severity and channels",
    "acknowledged": "the alert is acknowledged: counted, not sent",
    "cooldown": "within the rule's cooldown after the last sent occurrence: counted, not sent",
    "repeat": "past the cooldown: sent again",
}
SENT = ("new", "escalated", "repeat")
STATUSES = ("open", "acknowledged", "resolved")

ALERT_SCHEMA = {
    "alert_key": pl.String, "rule": pl.String, "source": pl.String, "metric": pl.String,
    "entity": pl.String, "title": pl.String, "severity": pl.String, "escalated": pl.Boolean,
    "status": pl.String, "first_seen": pl.Datetime("us"), "last_seen": pl.Datetime("us"),
    "occurrences": pl.Int64, "last_notified_at": pl.Datetime("us"), "note": pl.String,
    "updated_at": pl.Datetime("us"),
}
DECISION_SCHEMA = {**OCCURRENCE_SCHEMA, "decision": pl.String, "escalated": pl.Boolean,
                   "processed_at": pl.Datetime("us")}
NOTIFICATION_SCHEMA = {
    "notification_id": pl.String, "alert_key": pl.String, "occurrence_id": pl.String,
    "rule": pl.String, "channel": pl.String, "kind": pl.String, "severity": pl.String,
    "source": pl.String, "metric": pl.String, "entity": pl.String, "title": pl.String,
    "occurred_at": pl.Datetime("us"), "details": pl.String, "status": pl.String,
    "attempts": pl.Int64, "next_attempt_at": pl.Datetime("us"), "created_at": pl.Datetime("us"),
    "delivered_at": pl.Datetime("us"), "last_error": pl.String,
}


@dataclass(frozen=True)
class Advance:
    alerts: pl.DataFrame  # the alerts touched by the batch, in their new state (ALERT_SCHEMA)
    decisions: pl.DataFrame  # every new occurrence with its decision (DECISION_SCHEMA)
    notifications: pl.DataFrame  # what to send (NOTIFICATION_SCHEMA, status pending)


def rules_frame(rules: RuleSet) -> pl.DataFrame:
    """One row per rule: cooldown and escalation in seconds, channel lists."""
    rows = [{"rule": r.name, "cooldown_s": r.cooldown.total_seconds(),
             "esc_after": r.escalation.after if r.escalation else None,
             "esc_within_s": r.escalation.within.total_seconds() if r.escalation else None,
             "esc_severity": r.escalation.severity if r.escalation else None,
             "channels": list(r.channels),
             "esc_channels": list(r.escalation.add_channels) if r.escalation else []}
            for r in rules.rules]
    return pl.DataFrame(rows, schema={"rule": pl.String, "cooldown_s": pl.Float64,
                                      "esc_after": pl.Int64, "esc_within_s": pl.Float64,
                                      "esc_severity": pl.String, "channels": pl.List(pl.String),
                                      "esc_channels": pl.List(pl.String)})


def window_counts(new: pl.DataFrame, history: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """``new`` with ``window_count``: the occurrences of its key (stored ``history`` of
    ``alert_key, occurred_at, occurrence_id`` and the new ones) in (t - within, t] of the rule's
    escalation (occurrences at the same instant all count); null for rules without one."""
    out = new.with_columns(window_count=pl.lit(None, pl.UInt32))
    for rule in rules.rules:
        if rule.escalation is None or not (new["rule"] == rule.name).any():
            continue
        mine = new.filter(pl.col("rule") == rule.name).select("alert_key", "occurred_at",
                                                               "occurrence_id")
        stored = (history.filter(pl.col("alert_key").is_in(mine["alert_key"].implode()))
                  .select("alert_key", "occurred_at", "occurrence_id").cast(mine.schema))
        both = pl.concat([stored, mine]).unique("occurrence_id")
        within = pl.duration(seconds=rule.escalation.within.total_seconds())
        counts = (mine.join(both, on="alert_key", suffix="_other")
                  .filter((pl.col("occurred_at_other") <= pl.col("occurred_at"))
                          & (pl.col("occurred_at_other") > pl.col("occurred_at") - within))
                  .group_by("occurrence_id").agg(window_count=pl.len()))
        out = out.update(counts, on="occurrence_id", how="left")
    return out


def advance(alerts: pl.DataFrame, history: pl.DataFrame, new: pl.DataFrame, rules: RuleSet,
            now: dt.datetime) -> Advance:
    """Fold ``new`` occurrences (OCCURRENCE_SCHEMA, none stored before) into ``alerts``
    (ALERT_SCHEMA, the stored state of at least their keys), given the stored occurrence
    ``history`` (for the escalation windows); see the module docstring for the decisions."""
    rf = rules_frame(rules)
    todo = (window_counts(new, history, rules)
            .sort("alert_key", "occurred_at", "occurrence_id")
            .with_columns(rank=pl.int_range(pl.len()).over("alert_key"))
            .join(rf, on="rule", how="left"))
    state = alerts.cast(ALERT_SCHEMA)
    decided = []
    for k in range(todo["rank"].max() + 1 if todo.height else 0):
        step = _decide(todo.filter(pl.col("rank") == k).join(state, on="alert_key", how="left",
                                                             suffix="_alert"), now)
        decided.append(step)
        state = state.update(_new_state(step, now), on="alert_key", how="full",
                             include_nulls=True)
    decisions = pl.concat(decided) if decided else todo.with_columns(
        decision=pl.lit(None, pl.String), escalated_now=pl.lit(None, pl.Boolean))
    touched = state.filter(pl.col("alert_key").is_in(new["alert_key"].implode()))
    return Advance(
        alerts=touched.select(list(ALERT_SCHEMA)),
        decisions=decisions.with_columns(escalated=pl.col("escalated_now"),
                                         processed_at=pl.lit(now, pl.Datetime("us")))
        .select(list(DECISION_SCHEMA)).cast(DECISION_SCHEMA),
        notifications=_notifications(decisions, now))


def _decide(rows: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    exists = pl.col("status").is_not_null()
    fresh = ~exists | (pl.col("status") == "resolved")  # a first or a reopening occurrence
    reached = pl.col("window_count").is_not_null() & (pl.col("window_count")
                                                      >= pl.col("esc_after"))
    was_escalated = ~fresh & pl.col("escalated").fill_null(False)
    cooling = (~fresh & pl.col("last_notified_at").is_not_null()
               & (pl.col("occurred_at") < pl.col("last_notified_at")
                  + pl.duration(seconds=pl.col("cooldown_s"))))
    decision = (pl.when(pl.col("maintenance").is_not_null()).then(pl.lit("muted"))
                .when(fresh).then(pl.lit("new"))
                .when(reached & ~was_escalated).then(pl.lit("escalated"))
                .when(pl.col("status") == "acknowledged").then(pl.lit("acknowledged"))
                .when(cooling).then(pl.lit("cooldown"))
                .otherwise(pl.lit("repeat")))
    return rows.with_columns(decision=decision,
                             escalated_now=was_escalated | (reached & pl.col("maintenance")
                                                            .is_null()))


def _new_state(step: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    fresh = pl.col("status").is_null() | (pl.col("status") == "resolved")
    sent = pl.col("decision").is_in(SENT)
    return step.select(
        "alert_key", "rule", "source", "metric", "entity", "title",
        severity=pl.when(pl.col("escalated_now")).then("esc_severity").otherwise("severity"),
        escalated=pl.col("escalated_now"),
        status=pl.when(fresh).then(pl.lit("open")).otherwise("status"),
        first_seen=pl.coalesce("first_seen", "occurred_at"),
        last_seen=pl.max_horizontal("last_seen", "occurred_at"),
        occurrences=pl.col("occurrences").fill_null(0) + 1,
        last_notified_at=pl.when(sent).then("occurred_at").otherwise("last_notified_at"),
        note=pl.when(fresh).then(pl.lit(None, pl.String)).otherwise("note"),
        updated_at=pl.lit(now, pl.Datetime("us")),
    ).cast(ALERT_SCHEMA)


def _notifications(decisions: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    sent = decisions.filter(pl.col("decision").is_in(SENT))
    if sent.is_empty():
        return pl.DataFrame(schema=NOTIFICATION_SCHEMA)
    when = pl.lit(now, pl.Datetime("us"))
    return (sent.with_columns(
        channel=pl.when(pl.col("escalated_now"))
        .then(pl.concat_list("channels", "esc_channels").list.unique(maintain_order=True))
        .otherwise("channels"),
        severity=pl.when(pl.col("escalated_now")).then("esc_severity").otherwise("severity"))
        .explode("channel")
        .with_columns(notification_id=stable_hash(pl.col("occurrence_id"), pl.col("channel")),
                      kind=pl.col("decision"), status=pl.lit("pending"),
                      attempts=pl.lit(0, pl.Int64), next_attempt_at=when, created_at=when,
                      delivered_at=pl.lit(None, pl.Datetime("us")),
                      last_error=pl.lit(None, pl.String))
        .select(list(NOTIFICATION_SCHEMA)).cast(NOTIFICATION_SCHEMA))
