"""Occurrences: every alert source's rows matched against the rules.

An *occurrence* is one source row (an alert event, a flagged anomaly, a mart value over a
threshold) matched by one rule. Its ``occurrence_id`` is a hash of the rule and the row's own
identity (the event id; the metric, entity and hour), so reading the same rows again yields the
same ids and nothing is counted twice. Its ``alert_key`` is a hash of the rule, the subject (the
metric, or the event's source and title) and the entity: the occurrences of one key are one
alert in ``ops.alerts`` (deduplicated, counted, cooled down, escalated).

Anomalies at the same point flagged by several detectors are one occurrence (the highest
score is kept). Only rows with ``status = ok`` are anomalies; the others are data problems.

Columns (:data:`OCCURRENCE_SCHEMA`): occurrence_id, alert_key, rule, source (``anomaly``,
``threshold`` or the event's source), metric (null for events), entity, title, severity,
occurred_at, details (JSON), maintenance (the window that mutes it, or null).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl
from croniter import croniter

from dagster_project.notify.rules import ANY_SOURCE, SEVERITY_RANK, RuleSet

OCCURRENCE_SCHEMA = {
    "occurrence_id": pl.String, "alert_key": pl.String, "rule": pl.String, "source": pl.String,
    "metric": pl.String, "entity": pl.String, "title": pl.String, "severity": pl.String,
    "occurred_at": pl.Datetime("us"), "details": pl.String, "maintenance": pl.String,
}
EVENT_COLUMNS = ("event_id", "occurred_at", "source", "severity", "entity", "title", "details")
ANOMALY_COLUMNS = ("anomaly_id", "metric", "entity", "ts", "value", "expected", "score",
                   "detector", "pattern", "status")
THRESHOLD_COLUMNS = ("rule", "entity", "ts", "value")

_OPS = {">": lambda c, v: c > v, ">=": lambda c, v: c >= v,
        "<": lambda c, v: c < v, "<=": lambda c, v: c <= v}


def stable_hash(*parts: pl.Expr) -> pl.Expr:
    """A 24-hex-digit SHA-256 prefix of ``parts`` joined with '|'. SHA-256 rather than polars'
    own hash, which may change between polars versions: these ids are stored and compared
    across runs (and are the receivers' idempotency keys)."""
    return (pl.concat_str([p.cast(pl.String).fill_null("") for p in parts], separator="|")
            .map_elements(_sha, return_dtype=pl.String))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _finish(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(list(OCCURRENCE_SCHEMA)).cast(OCCURRENCE_SCHEMA)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=OCCURRENCE_SCHEMA)


def event_occurrences(events: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """``analytics.alert_events`` rows matched by the source rules: a rule naming the event's
    source, or ``*`` for sources that no rule names; at or above the rule's ``min_severity``.
    Severity: the rule's, or the event's when the rule gives none."""
    source_rules = [r for r in rules.rules if r.source is not None]
    named = [r.source for r in source_rules if r.source != ANY_SOURCE]
    frames = []
    for rule in source_rules:  # a handful of rules; the rows are filtered by expressions
        match = (pl.col("source") == rule.source if rule.source != ANY_SOURCE
                 else ~pl.col("source").is_in(named))
        min_rank = SEVERITY_RANK[rule.condition.min_severity or "info"]
        rank = pl.col("severity").replace_strict(SEVERITY_RANK, default=len(SEVERITY_RANK))
        hit = events.filter(match & (rank >= min_rank))
        if rule.entities:
            hit = hit.filter(pl.col("entity").is_in(rule.entities))
        frames.append(hit.with_columns(
            occurrence_id=stable_hash(pl.lit(rule.name), pl.col("event_id")),
            alert_key=stable_hash(pl.lit(rule.name), pl.col("source"), pl.col("title"),
                            pl.col("entity")),
            rule=pl.lit(rule.name), metric=pl.lit(None, pl.String),
            severity=pl.lit(rule.severity) if rule.severity else pl.col("severity"),
            maintenance=pl.lit(None, pl.String)))
    return _finish(pl.concat(frames)) if frames else _empty()


def anomaly_occurrences(anomalies: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """``analytics.metric_anomalies`` rows (status ok) matched by the pattern and anomaly-score
    rules of their metric; one occurrence per rule, entity and point."""
    ok = anomalies.filter(pl.col("status") == "ok")
    frames = []
    for rule in rules.rules:
        if rule.condition.kind not in ("pattern", "anomaly_score"):
            continue
        hit = ok.filter((pl.col("metric") == rule.metric)
                        & (pl.col("score") >= rule.condition.min_score))
        if rule.condition.kind == "pattern":
            hit = hit.filter(pl.col("pattern").is_in(rule.condition.patterns))
        if rule.entities:
            hit = hit.filter(pl.col("entity").is_in(rule.entities))
        best = (hit.sort("score", "detector", descending=[True, False])
                .unique(["entity", "ts"], keep="first", maintain_order=True))
        frames.append(best.with_columns(
            occurrence_id=stable_hash(pl.lit(rule.name), pl.col("metric"), pl.col("entity"),
                                pl.col("ts")),
            alert_key=stable_hash(pl.lit(rule.name), pl.col("metric"), pl.col("entity")),
            rule=pl.lit(rule.name), source=pl.lit("anomaly"),
            title=pl.format("{} {} on {}", pl.col("metric"), pl.col("pattern"), pl.col("entity")),
            severity=pl.lit(rule.severity), occurred_at=pl.col("ts"),
            details=pl.struct("value", "expected", "score", "detector", "pattern")
            .struct.json_encode(),
            maintenance=pl.lit(None, pl.String)))
    return _finish(pl.concat(frames)) if frames else _empty()


def threshold_occurrences(values: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """Mart values (``rule, entity, ts, value``: each threshold rule's metric per entity and
    hour or day) that cross the rule's threshold; one occurrence per rule, entity and point."""
    frames = []
    for rule in rules.rules:
        if rule.condition.kind != "threshold":
            continue
        c = rule.condition
        hit = values.filter((pl.col("rule") == rule.name)
                            & _OPS[c.op](pl.col("value"), c.value))
        if rule.entities:
            hit = hit.filter(pl.col("entity").is_in(rule.entities))
        frames.append(hit.with_columns(
            occurrence_id=stable_hash(pl.lit(rule.name), pl.lit(rule.metric), pl.col("entity"),
                                pl.col("ts")),
            alert_key=stable_hash(pl.lit(rule.name), pl.lit(rule.metric), pl.col("entity")),
            source=pl.lit("threshold"), metric=pl.lit(rule.metric),
            title=pl.format("{} {} {} on {}", pl.lit(rule.metric), pl.lit(c.op),
                            pl.lit(c.value), pl.col("entity")),
            severity=pl.lit(rule.severity), occurred_at=pl.col("ts"),
            details=pl.struct("value", threshold=pl.lit(c.value), op=pl.lit(c.op))
            .struct.json_encode(),
            maintenance=pl.lit(None, pl.String)))
    return _finish(pl.concat(frames)) if frames else _empty()


def mark_maintenance(occ: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """Set ``maintenance`` on metric occurrences inside a maintenance window: at or after one of
    the window's cron fire times and before that time plus its duration (UTC)."""
    if occ.is_empty() or not rules.maintenance:
        return occ
    start, end = occ["occurred_at"].min(), occ["occurred_at"].max()
    for window in rules.maintenance:  # a few windows; their fire times in the span, not rows
        fires, it = [], croniter(window.cron, start - window.duration - dt.timedelta(minutes=1))
        while (t := it.get_next(dt.datetime)) <= end:
            fires.append(t)
        if not fires:
            continue
        starts = pl.DataFrame({"fire": fires}, schema={"fire": pl.Datetime("us")})
        tagged = (occ.with_row_index("_i").sort("occurred_at")
                  .join_asof(starts, left_on="occurred_at", right_on="fire", strategy="backward")
                  .sort("_i"))
        inside = (pl.col("fire").is_not_null()
                  & (pl.col("occurred_at") < pl.col("fire") + window.duration)
                  & pl.col("metric").is_not_null()
                  & (pl.col("metric").is_in(window.metrics) if window.metrics else pl.lit(True)))
        occ = tagged.with_columns(maintenance=pl.when(inside & pl.col("maintenance").is_null())
                                  .then(pl.lit(window.name)).otherwise("maintenance")
                                  ).select(list(OCCURRENCE_SCHEMA))
    return occ
