"""The alert lifecycle against hand-worked timelines: deduplication by key, cooldown from the
last sent occurrence, escalation after N occurrences within a window, acknowledgement,
reopening after resolution, maintenance windows; and source rows matched to rules."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest

from dagster_project.notify.lifecycle import ALERT_SCHEMA, DECISIONS, advance, window_counts
from dagster_project.notify.occurrences import (
    OCCURRENCE_SCHEMA,
    anomaly_occurrences,
    event_occurrences,
    mark_maintenance,
    threshold_occurrences,
)
from dagster_project.notify.rules import parse_rules

RULES = parse_rules("""
channels:
  hook: {type: webhook, url_env: HOOK_URL}
  sms: {type: sms, base_url_env: SMS_URL, account_env: SMS_ACCOUNT, token_env: SMS_TOKEN,
        sender: "+1", recipient: "+2"}
maintenance:
  - {name: nightly, cron: "0 2 * * *", duration: 1h, metrics: [host_cpu_pct]}
rules:
  - name: runs
    source: dagster_run
    condition: {type: event, min_severity: warning}
    severity: warning
    channels: [hook]
    cooldown: 1h
    escalation: {after: 3, within: 2h, severity: critical, add_channels: [sms]}
  - name: cpu
    metric: host_cpu_pct
    condition: {type: pattern, patterns: [spike, level_shift], min_score: 0.9}
    severity: warning
    channels: [hook]
    cooldown: 30m
  - name: latency
    metric: api_latency_p95_ms
    condition: {type: threshold, op: ">=", value: 1000}
    severity: critical
    channels: [hook, sms]
    cooldown: 1h
  - name: rest
    source: "*"
    condition: {type: event, min_severity: info}
    channels: [hook]
    cooldown: 1h
""")
T0 = dt.datetime(2025, 3, 3, 10, 0)
NOW = dt.datetime(2026, 1, 1)
_ids = itertools.count()


def occ(minutes: float, key: str = "k1", rule: str = "runs", maintenance: str | None = None,
        severity: str = "warning") -> dict:
    return {"occurrence_id": f"o{next(_ids):04d}", "alert_key": key, "rule": rule,
            "source": "dagster_run", "metric": None, "entity": "job", "title": "Run failed",
            "severity": severity, "occurred_at": T0 + dt.timedelta(minutes=minutes),
            "details": "{}", "maintenance": maintenance}


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=OCCURRENCE_SCHEMA)


NO_ALERTS = pl.DataFrame(schema=ALERT_SCHEMA)
NO_HISTORY = pl.DataFrame(schema={"alert_key": pl.String, "occurred_at": pl.Datetime("us"),
                                  "occurrence_id": pl.String})


def decisions(rows: list[dict], alerts=NO_ALERTS, history=NO_HISTORY):
    result = advance(alerts, history, frame(rows), RULES, NOW)
    return result, result.decisions.sort("occurred_at", "occurrence_id")["decision"].to_list()


def test_cooldown_counts_from_the_last_sent_occurrence_not_the_last_seen():
    # rule 'runs': cooldown 1h. Sent at 0; 20 and 50 are within an hour of 0: counted only;
    # 60 is exactly one hour after the last sent one (0): sent; 100 is 40 min after 60: held.
    # Escalation needs 3 within 2h: 0, 20, 50 -> reached at 50; so 50 escalates instead.
    _, d = decisions([occ(0), occ(20), occ(50), occ(60), occ(100)])
    assert d == ["new", "cooldown", "escalated", "cooldown", "cooldown"]


def test_without_escalation_the_cooldown_alone_decides():
    rows = [occ(m, rule="cpu") for m in (0, 10, 29, 30, 45, 61)]
    # cooldown 30 min: sent 0; 10, 29 held; 30 sent; 45 held (15 after 30); 61 sent
    _, d = decisions(rows)
    assert d == ["new", "cooldown", "cooldown", "repeat", "cooldown", "repeat"]


def test_one_key_is_one_alert_with_first_last_seen_and_count():
    result, _ = decisions([occ(5), occ(0), occ(300, key="k2")])
    alerts = result.alerts.sort("alert_key")
    assert alerts["alert_key"].to_list() == ["k1", "k2"]
    k1 = alerts.row(0, named=True)
    assert (k1["first_seen"], k1["last_seen"], k1["occurrences"], k1["status"]) == (
        T0, T0 + dt.timedelta(minutes=5), 2, "open")


def test_escalation_raises_the_severity_and_adds_its_channels():
    result, d = decisions([occ(0), occ(70), occ(100)])  # 3 within 2h at 100
    assert d == ["new", "repeat", "escalated"]
    n = result.notifications.sort("occurred_at", "channel")
    assert n.select("kind", "channel", "severity").rows() == [
        ("new", "hook", "warning"), ("repeat", "hook", "warning"),
        ("escalated", "hook", "critical"), ("escalated", "sms", "critical")]
    alert = result.alerts.row(0, named=True)
    assert alert["escalated"] and alert["severity"] == "critical"


def test_an_escalated_alert_is_not_escalated_again_and_keeps_its_channels():
    # sent at 0, 20 (escalated: 3 within 2h) and 90 (70 min after 20); 140 is 50 min after 90
    result, d = decisions([occ(0), occ(10), occ(20), occ(90), occ(140)])
    assert d == ["new", "cooldown", "escalated", "repeat", "cooldown"]
    repeat = result.notifications.filter(pl.col("kind") == "repeat")
    assert sorted(repeat["channel"]) == ["hook", "sms"]


def test_occurrences_spread_wider_than_the_window_do_not_escalate():
    _, d = decisions([occ(0), occ(70), occ(140), occ(210)])  # never 3 within 2h
    assert "escalated" not in d


def test_window_counts_equal_a_brute_force_count():
    rows = [occ(m) for m in (0, 5, 50, 119, 120, 121, 240, 241)]
    got = window_counts(frame(rows), NO_HISTORY, RULES).sort("occurred_at")["window_count"]
    times = [r["occurred_at"] for r in rows]
    within = dt.timedelta(hours=2)
    expected = [sum(t - within < u <= t for u in times) for t in times]
    assert got.to_list() == expected


def test_stored_history_counts_towards_the_escalation():
    history = pl.DataFrame({"alert_key": ["k1", "k1"], "occurred_at": [T0, T0 + dt.timedelta(
        minutes=10)], "occurrence_id": ["h1", "h2"]}, schema=NO_HISTORY.schema)
    first = advance(NO_ALERTS, NO_HISTORY, frame([occ(0), occ(10)]), RULES, NOW).alerts
    _, d = decisions([occ(30)], alerts=first, history=history)
    assert d == ["escalated"]


def acked(status: str, rows: list[dict]) -> tuple:
    state = advance(NO_ALERTS, NO_HISTORY, frame(rows), RULES, NOW).alerts.with_columns(
        status=pl.lit(status))
    return state


def test_an_acknowledged_alert_is_counted_but_not_sent_except_an_escalation():
    state = acked("acknowledged", [occ(0, rule="cpu")])
    _, d = decisions([occ(120, rule="cpu")], alerts=state)
    assert d == ["acknowledged"]
    state = acked("acknowledged", [occ(0)])
    history = pl.DataFrame({"alert_key": ["k1"], "occurred_at": [T0], "occurrence_id": ["h"]},
                           schema=NO_HISTORY.schema)
    result, d = decisions([occ(100), occ(110)], alerts=state, history=history)
    assert d == ["acknowledged", "escalated"]
    assert result.alerts["status"].item() == "acknowledged"


def test_a_resolved_alert_reopens_as_new_on_its_next_occurrence():
    state = acked("resolved", [occ(0, rule="cpu")]).with_columns(note=pl.lit("fixed"))
    result, d = decisions([occ(5, rule="cpu")], alerts=state)
    assert d == ["new"]  # within the cooldown, but a new episode
    alert = result.alerts.row(0, named=True)
    assert alert["status"] == "open" and alert["note"] is None and alert["occurrences"] == 2
    assert alert["first_seen"] == T0


def test_muted_occurrences_are_counted_and_never_sent():
    result, d = decisions([occ(0, rule="cpu", maintenance="nightly"), occ(10, rule="cpu")])
    assert d == ["muted", "repeat"]
    assert result.notifications.height == 1 and result.alerts["occurrences"].item() == 2


def test_every_occurrence_gets_a_documented_decision_and_sent_ones_a_notification_each():
    rows = [occ(m, key=f"k{m % 3}", rule=["runs", "cpu"][m % 2]) for m in range(0, 400, 7)]
    result, d = decisions(rows)
    assert len(d) == len(rows) and set(d) <= set(DECISIONS)
    sent = result.decisions.filter(pl.col("decision").is_in(["new", "repeat", "escalated"]))
    per = result.notifications.group_by("occurrence_id").len()
    assert set(per["occurrence_id"]) == set(sent["occurrence_id"])
    assert result.notifications["notification_id"].n_unique() == result.notifications.height


def test_notification_ids_are_reproducible():
    rows = [occ(0), occ(70)]
    a = advance(NO_ALERTS, NO_HISTORY, frame(rows), RULES, NOW).notifications
    b = advance(NO_ALERTS, NO_HISTORY, frame(rows), RULES, NOW).notifications
    assert a["notification_id"].to_list() == b["notification_id"].to_list()


def events(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={
        "event_id": pl.String, "occurred_at": pl.Datetime("us"), "source": pl.String,
        "severity": pl.String, "entity": pl.String, "title": pl.String, "details": pl.String})


def test_events_go_to_the_rule_of_their_source_and_the_rest_to_the_catch_all():
    ev = events([("e1", T0, "dagster_run", "critical", "job", "Run failed: job", "{}"),
                 ("e2", T0, "dagster_run", "info", "job", "Run failed: job", "{}"),
                 ("e3", T0, "pricing", "info", "tier/pro", "approve", "{}"),
                 ("e4", T0, "forecasting", "warning", "host_cpu", "capacity", "{}")])
    got = event_occurrences(ev, RULES).sort("occurred_at", "source")
    # e2 is below 'runs' min_severity (warning); as a dagster_run event it is not the
    # catch-all's either (the catch-all takes sources no rule names)
    assert got.select("rule", "source", "severity").rows() == [
        ("runs", "dagster_run", "warning"), ("rest", "forecasting", "warning"),
        ("rest", "pricing", "info")]


def test_repeated_events_of_one_subject_share_an_alert_key():
    ev = events([("e1", T0, "pricing", "info", "tier/pro", "approve", "{}"),
                 ("e2", T0 + dt.timedelta(hours=1), "pricing", "info", "tier/pro", "approve",
                  "{}"),
                 ("e3", T0, "pricing", "info", "tier/biz", "approve", "{}")])
    got = event_occurrences(ev, RULES)
    assert got["alert_key"].n_unique() == 2 and got["occurrence_id"].n_unique() == 3


def anomalies(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, orient="row", schema={
        "anomaly_id": pl.String, "metric": pl.String, "entity": pl.String,
        "ts": pl.Datetime("us"), "value": pl.Float64, "expected": pl.Float64,
        "score": pl.Float64, "detector": pl.String, "pattern": pl.String, "status": pl.String})


def test_anomalies_match_pattern_and_score_and_detectors_at_one_point_are_one_occurrence():
    a = anomalies([
        ("a1", "host_cpu_pct", "h1", T0, 90.0, 50.0, 0.95, "robust_baseline", "spike", "ok"),
        ("a2", "host_cpu_pct", "h1", T0, 90.0, None, 0.97, "isolation_forest", "spike", "ok"),
        ("a3", "host_cpu_pct", "h1", T0 + dt.timedelta(hours=1), 20.0, 50.0, 0.99,
         "combined", "drop", "ok"),  # a drop: not a pattern of rule cpu
        ("a4", "host_cpu_pct", "h2", T0, 70.0, 50.0, 0.5, "combined", "spike", "ok"),  # score
        ("a5", "host_cpu_pct", "h3", T0, None, None, None, "combined", "spike",
         "constant_series"),  # not ok: a data problem, never an alert
    ])
    got = anomaly_occurrences(a, RULES)
    assert got.height == 1
    assert '"score":0.97' in got["details"].item() and got["entity"].item() == "h1"


def test_thresholds_compare_with_the_rule_operator():
    values = pl.DataFrame({"rule": ["latency"] * 3, "entity": ["api/a"] * 3,
                           "ts": [T0, T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)],
                           "value": [999.9, 1000.0, 1500.0]})
    got = threshold_occurrences(values, RULES)
    assert got["occurred_at"].to_list() == [T0 + dt.timedelta(hours=1),
                                            T0 + dt.timedelta(hours=2)]


@pytest.mark.parametrize("hour,minute,muted", [
    (1, 59, False), (2, 0, True), (2, 59, True), (3, 0, False)])
def test_maintenance_windows_start_at_the_cron_and_last_their_duration(hour, minute, muted):
    at = dt.datetime(2025, 3, 4, hour, minute)
    row = occ(0, rule="cpu") | {"metric": "host_cpu_pct", "occurred_at": at}
    other = occ(0, rule="latency") | {"metric": "api_latency_p95_ms", "occurred_at": at}
    got = mark_maintenance(frame([row, other]), RULES)
    assert got["maintenance"].to_list() == [("nightly" if muted else None), None]


def test_activity_counts_decisions_and_notification_states_per_day_and_rule():
    from dagster_project.notify.activity import alert_activity

    day1, day2 = T0, T0 + dt.timedelta(days=1)
    decided = pl.DataFrame({"rule": ["runs", "runs", "runs", "cpu"],
                            "occurred_at": [day1, day1, day2, day1],
                            "decision": ["new", "cooldown", "escalated", "muted"]})
    sent = pl.DataFrame({"rule": ["runs", "runs", "runs"], "occurred_at": [day1, day2, day2],
                         "status": ["delivered", "dead_letter", "delivered"]})
    got = alert_activity(decided, sent)
    # by hand: day 1 runs: 2 occurrences (new sent, cooldown), 1 notification delivered;
    # day 1 cpu: 1 muted, no notification; day 2 runs: escalated (sent), 2 notifications
    assert got.select("day", "rule", "occurrences", "sent", "escalated", "cooldown", "muted",
                      "notifications", "delivered", "dead_letter").rows() == [
        (day1.date(), "cpu", 1, 0, 0, 0, 1, 0, 0, 0),
        (day1.date(), "runs", 2, 1, 0, 1, 0, 1, 1, 0),
        (day2.date(), "runs", 1, 1, 1, 0, 0, 2, 1, 1)]
