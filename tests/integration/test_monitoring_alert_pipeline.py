"""Alerting through Dagster on tiny data (DuckDB): the performance marts and SRM events, the
rules applied and audited by their job, anomalies of the detection schema written here (until
the detectors land), one alerting pass delivering to a local webhook, the delivery sensor's
tick, acknowledge / resolve / redeliver jobs, and failed runs and failed checks turned into
alert events by their sensors."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import polars as pl
import pytest

from dagster_project.notify.rules import load_rules
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.integration

ACTOR = "oncall@example.org"


def definitions():
    from dagster_project.definitions import defs

    return defs()


class Hook(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


@pytest.fixture(scope="module")
def receiver():
    keys: Counter = Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            keys[(self.path.split("/")[1], self.headers["Idempotency-Key"])] += 1
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = Hook(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", keys
    server.shutdown()
    server.server_close()


ANOMALY_TS = dt.datetime(2025, 2, 10, 14)


def anomalies() -> pl.DataFrame:
    """Rows of the detection side's schema: a latency spike (score 0.999, two detectors) and a
    constant-series row (status not ok: never an alert)."""
    rows = [("a1", "api_latency_p95_ms", "api/posts", ANOMALY_TS, 2100.0, 400.0, 0.999,
             "robust_baseline", "spike", "ok", "ok"),
            ("a2", "api_latency_p95_ms", "api/posts", ANOMALY_TS, 2100.0, None, 0.995,
             "isolation_forest", "spike", "ok", "ok"),
            ("a3", "host_cpu_pct", "host-1", ANOMALY_TS, None, None, None, "robust_baseline",
             "level_shift", "constant_series", "the series is constant: no spread")]
    return pl.DataFrame(rows, orient="row", schema={
        "anomaly_id": pl.String, "metric": pl.String, "entity": pl.String,
        "ts": pl.Datetime("us"), "value": pl.Float64, "expected": pl.Float64,
        "score": pl.Float64, "detector": pl.String, "pattern": pl.String, "status": pl.String,
        "status_message": pl.String}).with_columns(detected_at=pl.lit(ANOMALY_TS))


@pytest.fixture(scope="module")
def built(module_pipeline_env, receiver):
    url, _ = receiver
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"ALERT_WEBHOOK_URL": f"{url}/hook", "ALERT_WEBHOOK_SECRET": "k",
                            "ALERT_SLACK_WEBHOOK_URL": f"{url}/slack",
                            "ALERT_SMS_BASE_URL": f"{url}/sms", "ALERT_SMS_ACCOUNT": "AC1",
                            "ALERT_SMS_TOKEN": "t"}.items():
            mp.setenv(name, value)
        mp.delenv("ALERT_SMTP_HOST", raising=False)  # email not configured: dead letters
        d = definitions()
        instance = dg.DagsterInstance.get()
        # what the alerting reads: the performance marts (thresholds) and the experiments
        # read-out (SRM events), with everything upstream of them
        needed = (dg.AssetSelection.groups("performance", "experiments").upstream()
                  .resolve(d.resolve_asset_graph()))
        assert d.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=list(needed)).success
        warehouse = Warehouse(duckdb_path=str(module_pipeline_env.duckdb_path))
        warehouse.write("analytics.metric_anomalies", anomalies())
        applied = run(d, "apply_alert_rules", "apply_alert_rules_op", {"actor": ACTOR})
        assert applied.success
        passed = run(d, "process_alerts", "alerting_pass_op", {})
        assert passed.success
        yield module_pipeline_env, d, instance, warehouse, passed


def run(d, job: str, op: str, config: dict, **kw):
    return d.resolve_job_def(job).execute_in_process(
        run_config={"ops": {op: {"config": config}}}, instance=dg.DagsterInstance.get(),
        raise_on_error=False, **kw)


def test_applying_the_rules_records_them_and_audits_the_change(built):
    env, d, *_ = built
    rules = load_rules()
    sets = env.query("select version, applied_by from ops.alert_rule_sets")
    assert sets.rows() == [(rules.version, ACTOR)]
    assert env.query("select count(*) n from ops.alert_rules")["n"].item() == len(rules.rules)
    audit = env.query("select actor, action, object, after from audit.audit_log "
                      "where action = 'apply_alert_rules'")
    assert audit.height == 1 and audit["actor"].item() == ACTOR
    assert set(json.loads(audit["after"].item())["rules"]) == {r.name for r in rules.rules}
    # applying the same file again changes nothing and audits nothing
    assert run(d, "apply_alert_rules", "apply_alert_rules_op", {"actor": ACTOR}).success
    assert env.query("select count(*) n from audit.audit_log where action = "
                     "'apply_alert_rules'")["n"].item() == 1


def test_a_rules_file_with_a_typo_is_refused_listing_the_problems(built, tmp_path):
    env, d, *_ = built
    bad = tmp_path / "rules.yml"
    bad.write_text(load_rules().text.replace("metric: api_error_rate", "metric: api_eror_rate")
                   .replace("cron: \"0 3 * * 0\"", "cron: \"0 3 * *\""))
    result = run(d, "apply_alert_rules", "apply_alert_rules_op",
                 {"actor": ACTOR, "path": str(bad)})
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = str(failure.event_specific_data.error)
    assert "2 problem(s)" in text
    problems = failure.event_specific_data.user_failure_data.metadata["problems"].value
    assert "unknown metric 'api_eror_rate'" in problems and "bad cron '0 3 * *'" in problems
    assert env.query("select count(*) n from ops.alert_rule_sets")["n"].item() == 1


def test_srm_events_of_the_experiments_become_critical_alerts(built):
    env, *_ = built
    srm = env.query("select entity from analytics.alert_events where source = 'experiments'")
    assert srm.height >= 1  # the simulator plants a sample-ratio mismatch
    alerts = env.query("select entity, severity, status, occurrences from ops.alerts "
                       "where rule = 'experiment-sample-ratio'")
    assert sorted(alerts["entity"]) == sorted(srm["entity"])
    assert set(alerts["severity"]) == {"critical"} and set(alerts["status"]) == {"open"}


def test_threshold_alerts_equal_the_hours_over_the_threshold_in_the_mart(built):
    env, *_ = built
    # second method: the mart's endpoint-hours of the last 7 days (the rules' lookback) whose
    # p95 latency exceeds the rule's 1500 ms, found with polars instead of the warehouse SQL
    mart = env.query("select service, endpoint, hour_at, latency_p95_ms from "
                     "marts.fct_api_performance_hourly")
    newest = mart["hour_at"].max()
    over = (mart.filter(pl.col("hour_at") >= newest - dt.timedelta(days=7))
            .group_by("service", "endpoint", "hour_at").agg(pl.col("latency_p95_ms").max())
            .filter(pl.col("latency_p95_ms") > 1500))
    got = env.query("select entity, occurred_at from ops.alert_occurrences "
                    "where rule = 'api-latency-slo'")
    expected = {(f"{s}/{e}", h) for s, e, h, _ in over.rows()}
    assert {tuple(r) for r in got.rows()} == expected


def test_the_anomaly_of_two_detectors_is_one_alert_and_a_data_problem_none(built):
    env, *_ = built
    occ = env.query("select rule, entity, details, decision from ops.alert_occurrences "
                    "where source = 'anomaly'")
    assert occ.rows()[0][:2] == ("api-latency-anomaly", "api/posts") and occ.height == 1
    assert json.loads(occ["details"].item())["detector"] == "robust_baseline"
    assert occ["decision"].item() == "new"


def test_every_queued_notification_is_delivered_once_except_unconfigured_email(built, receiver):
    env, *_, passed = built
    _, keys = receiver
    n = env.query("select notification_id, channel, status, last_error "
                  "from ops.alert_notifications")
    assert n.height > 0
    email = n.filter(pl.col("channel") == "oncall-email")
    assert set(email["status"]) <= {"dead_letter"}
    assert set(email["last_error"]) <= {("environment variable ALERT_SMTP_HOST (host_env of "
                                         "channel oncall-email) is not set")}
    others = n.filter(pl.col("channel") != "oncall-email")
    assert set(others["status"]) == {"delivered"}
    assert {k for _, k in keys} == set(others["notification_id"])
    assert set(keys.values()) == {1}
    (meta,) = [e.event_specific_data.metadata for e in passed.all_events
               if e.event_type_value == "STEP_OUTPUT"]
    assert meta["sent"].value == others.height
    assert meta["dead_lettered"].value == email.height


def test_the_delivery_sensor_tick_reports_sent_retried_and_dead_lettered(built):
    _, d, instance, warehouse, _ = built
    warehouse.write("analytics.alert_events", pl.DataFrame({
        "event_id": ["capacity-1"], "occurred_at": [dt.datetime(2025, 2, 19)],
        "source": ["forecasting"], "severity": ["warning"], "entity": ["host_cpu_pct"],
        "title": ["CPU crosses 85% in 12 days"], "details": ["{}"]}), mode="append")
    sensor = d.resolve_sensor_def("alert_delivery_sensor")
    with dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}) as ctx:
        result = sensor(ctx)
    assert result.skip_reason.skip_message == (
        "1 new occurrence(s), 1 notification(s) queued; sent 1, retried 0, dead-lettered 0 "
        "(1 batch(es))")
    assert json.loads(result.cursor)["sent"] == 1
    with dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}) as ctx:
        again = sensor(ctx)
    assert again.skip_reason.skip_message.startswith("0 new occurrence(s)")


def alert_key(env, rule: str) -> str:
    return env.query(f"select alert_key from ops.alerts where rule = '{rule}' "
                     "order by alert_key limit 1")["alert_key"].item()


def test_acknowledge_then_resolve_are_audited_and_a_resolved_alert_cannot_be_acknowledged(built):
    env, d, *_ = built
    key = alert_key(env, "experiment-sample-ratio")
    cfg = {"alert_key": key, "actor": ACTOR, "note": "looking at the assignment service"}
    assert run(d, "acknowledge_alert", "acknowledge_alert_op", cfg).success
    assert run(d, "resolve_alert", "resolve_alert_op", cfg | {"note": "bug fixed"}).success
    row = env.query(f"select status, note from ops.alerts where alert_key = '{key}'").row(0)
    assert row == ("resolved", "bug fixed")
    audit = env.query(f"select action, before, after from audit.audit_log where object = "
                      f"'ops.alerts/{key}' order by id")
    assert audit["action"].to_list() == ["alert_acknowledged", "alert_resolved"]
    assert json.loads(audit["after"][1]) == {"status": "resolved", "note": "bug fixed"}
    again = run(d, "acknowledge_alert", "acknowledge_alert_op", cfg)
    assert not again.success
    assert run(d, "resolve_alert", "resolve_alert_op", cfg | {"alert_key": "nope"}).success is False


def test_redelivering_dead_letters_is_audited_and_keeps_their_keys(built):
    env, d, *_ = built
    dead = env.query("select notification_id from ops.alert_notifications "
                     "where status = 'dead_letter'")
    result = run(d, "redeliver_dead_letters", "redeliver_dead_letters_op",
                 {"actor": ACTOR, "channel": "oncall-email"})
    assert result.success
    pending = env.query("select notification_id, attempt_limit, attempts from "
                        "ops.alert_notifications where status = 'pending'")
    assert set(pending["notification_id"]) == set(dead["notification_id"])
    assert (pending["attempt_limit"] == pending["attempts"] + 5).all()
    n = env.query("select after from audit.audit_log where action = 'redeliver_dead_letters'")
    assert json.loads(n["after"].item())["notifications"] == dead.height


@dg.op
def explode():
    raise RuntimeError("disk full")


@dg.job
def failing_job():
    explode()


def test_a_failed_run_becomes_a_critical_alert_event(built):
    env, d, instance, warehouse, _ = built
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    sensor = d.resolve_sensor_def("run_failure_alert_sensor")
    ctx = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=result.get_run_failure_event(),
        resources={"warehouse": warehouse}).for_run_failure()
    sensor(ctx)
    events = env.query("select severity, entity, title, details from analytics.alert_events "
                       "where source = 'dagster_run'")
    assert events.rows()[0][:3] == ("critical", "failing_job", "Run failed: failing_job")
    details = json.loads(events["details"].item())
    assert details["run_id"] == result.run_id and "explode: RuntimeError: disk full" in (
        details["message"])


@dg.asset
def gauge():
    return 1


@dg.asset_check(asset=gauge)
def gauge_is_calibrated():
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                               description="drifted by 3%")


def test_a_failed_asset_check_becomes_an_alert_event(built):
    env, d, instance, warehouse, _ = built
    assert dg.materialize([gauge, gauge_is_calibrated], instance=instance).success
    sensor = d.resolve_sensor_def("failed_check_alert_sensor")
    with dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}) as ctx:
        result = sensor(ctx)
    assert "failed check(s): alert events written" in result.skip_reason.skip_message
    events = env.query("select severity, entity, title from analytics.alert_events "
                       "where source = 'asset_check' and entity = 'gauge'")
    assert events.rows() == [("critical", "gauge", "Check gauge_is_calibrated failed on gauge")]
    with dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse},
                                 cursor=result.cursor) as ctx:
        assert isinstance(sensor(ctx), dg.SkipReason)  # nothing new after the cursor


def test_the_delivery_sensor_waits_while_a_run_writes_the_duckdb_warehouse(built):
    _, d, instance, warehouse, _ = built
    busy = dg.DagsterRun(job_name="hourly_refresh", status=dg.DagsterRunStatus.STARTED)
    instance.add_run(busy)
    try:
        sensor = d.resolve_sensor_def("alert_delivery_sensor")
        with dg.build_sensor_context(instance=instance,
                                     resources={"warehouse": warehouse}) as ctx:
            result = sensor(ctx)
    finally:
        instance.delete_run(busy.run_id)
    assert result.skip_message == "a run is writing the DuckDB warehouse; delivery waits"


def test_alert_activity_counts_what_the_ops_tables_hold(built):
    env, d, instance, *_ = built
    selection = dg.AssetSelection.assets(["analytics", "alert_activity"])
    assert d.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=list(selection.resolve(d.resolve_asset_graph()))
    ).success
    got = env.query("select sum(occurrences) o, sum(notifications) n, sum(delivered) ok "
                    "from analytics.alert_activity").row(0)
    # second method: the same totals counted straight from the ops tables
    assert got == env.query(
        "select (select count(*) from ops.alert_occurrences),"
        " (select count(*) from ops.alert_notifications),"
        " (select count(*) from ops.alert_notifications where status = 'delivered')").row(0)
