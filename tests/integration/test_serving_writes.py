"""Writes through the serving API launch the Dagster job that owns them, on a real
dagster-webserver (one for the module) over the same tiny warehouse: approve-pricing,
register-experiment and alert rules each return a run id, the run succeeds and did the write,
and each request is in audit.audit_log, linked to its run by the request id tag. The service
never writes the tables itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl
import pytest
from dagster_graphql import DagsterGraphQLClient

from dagster_project.defs.pricing import store
from dagster_project.serving import tokens
from dagster_project.serving.launcher import REQUEST_TAG
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
BI = "/api/v1/bi"
ADMIN = "pricing-admin@example.com"  # the admin token's name, in BI_PRICING_ADMINS
INSTANCE_YAML = """telemetry: {enabled: false}
nux: {enabled: false}
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
"""


def start_webserver(port: int, env: dict, log: Path) -> subprocess.Popen:
    # output to a file: the code server and its runs inherit it, and a pipe nobody drains
    # would block them once full
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-webserver"), "-w",
             str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    query = {"query": "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }"}
    while time.monotonic() < deadline:  # up, and its code location loaded
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            body = httpx.post(f"http://127.0.0.1:{port}/graphql", json=query, timeout=5).json()
            if body["data"]["repositoriesOrError"].get("nodes"):
                return proc
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        time.sleep(1)
    os.killpg(proc.pid, signal.SIGTERM)
    raise AssertionError("dagster-webserver did not load the code location within 180 s")


@pytest.fixture(scope="module")
def env(tmp_path_factory, dbt_helpers, serving_helpers):
    folder = tmp_path_factory.mktemp("serving_writes")
    db = serving_helpers.build_serving_warehouse(folder, dbt_helpers)
    wh = Warehouse(duckdb_path=str(db))
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    port = serving_helpers.free_port()
    web_env = {**os.environ, "DAGSTER_HOME": str(home), "BI_WAREHOUSE": "duckdb",
               "BI_DUCKDB_PATH": str(db), "BI_DATA_DIR": str(folder),
               "BI_PRICING_ADMINS": ADMIN}
    webserver = start_webserver(port, web_env, folder / "webserver.log")
    server = serving_helpers.Server(db, dagster_url=f"http://127.0.0.1:{port}")
    try:
        yield {"db": db, "wh": wh, "server": server, "h": serving_helpers,
               "dagster": DagsterGraphQLClient("127.0.0.1", port_number=port),
               "dagster_url": f"http://127.0.0.1:{port}",
               "admin": tokens.issue(wh, ADMIN, "admin", None, 1, "test")[0],
               "c1": tokens.issue(wh, "dash-c1", "client", "c1", 1, "test")[0]}
    finally:
        server.stop()
        os.killpg(webserver.pid, signal.SIGTERM)
        webserver.wait(timeout=60)


def post(env, path, tok, body):
    return httpx.post(env["server"].url + path, json=body, headers=env["h"].bearer(tok),
                      timeout=60)


def wait_for_run(env, run_id: str) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = env["dagster"].get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not finish in 300 s")


def audit_entry(env, request_id: str) -> dict:
    rows = env["h"].query(env["db"], "select actor, action, cast(after as varchar) from "
                          "audit.audit_log where object = ?", [f"api_requests/{request_id}"])
    assert len(rows) == 1, rows
    actor, action, after = rows[0]
    return {"actor": actor, "action": action, "after": json.loads(after)}


def run_tags(env, run_id: str) -> dict:
    q = """query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }"""
    body = httpx.post(f"{env['dagster_url']}/graphql", timeout=30,
                      json={"query": q, "variables": {"id": run_id}}).json()
    return {t["key"]: t["value"] for t in body["data"]["runOrError"]["tags"]}


def test_approve_pricing_launches_the_review_job_which_approves_the_proposal(env):
    rec = pl.DataFrame({
        "recommendation_id": ["rec-professional"], "tier": ["professional"],
        "action": ["increase"], "current_price": [79.0], "suggested_price": [84.0],
        "price_change_pct": [84.0 / 79.0 - 1], "expected_revenue_change": [120.0],
        "revenue_change_ci_lower": [40.0], "revenue_change_ci_upper": [200.0],
        "churn_risk_change": [0.002], "confidence": [0.97], "risk_level": ["medium"],
        "reasoning": ["inelastic"], "as_of_date": [None], "status": ["ok"]},
        schema_overrides={"as_of_date": pl.Date})
    pid = store.sync_proposals(env["wh"], rec, 14).created[0]
    r = post(env, f"{BI}/approve-pricing", env["admin"],
             {"proposal_id": pid, "decision": "approve", "notes": "ok", "notice_days": 30})
    assert r.status_code == 202, env["server"].log()
    run_id = r.json()["run_id"]
    assert wait_for_run(env, run_id) == "SUCCESS"
    status, reviewer = env["h"].query(env["db"], "select status, reviewer from "
                                      "ops.pricing_proposals where proposal_id = ?", [pid])[0]
    assert (status, reviewer) == ("approved", ADMIN)
    entry = audit_entry(env, r.json()["request_id"])
    assert entry["actor"] == f"api:{ADMIN}" and entry["action"] == "api.review_pricing_proposal"
    assert entry["after"]["config"]["proposal_id"] == pid
    assert run_tags(env, run_id)[REQUEST_TAG] == r.json()["request_id"]
    # the job's own audit entries: the proposal (the sensor's job, here store.sync_proposals),
    # then the decision by the token's name
    assert env["h"].query(env["db"], "select actor, action from audit.audit_log where object = ?"
                          " order by id", [f"pricing_proposals/{pid}"]) == [
        ("system:pricing", "pricing_proposal.pending"), (ADMIN, "pricing_proposal.approved")]


def test_a_refused_review_fails_its_run_and_is_audited_twice(env):
    r = post(env, f"{BI}/approve-pricing", env["admin"],
             {"proposal_id": "pp-unknown", "decision": "approve"})
    assert r.status_code == 202
    assert wait_for_run(env, r.json()["run_id"]) == "FAILURE"
    assert audit_entry(env, r.json()["request_id"])["action"] == "api.review_pricing_proposal"
    assert env["h"].query(env["db"], "select action from audit.audit_log where object = "
                          "'pricing_proposals/pp-unknown'") == [("pricing_proposal.review_refused",)]


def test_register_experiment_launches_the_job_for_the_tokens_own_client(env):
    body = {"name": "api-registered onboarding tour", "hypothesis": "a tour raises conversion",
            "kind": "feature", "unit_type": "user", "primary_metric": "conversion",
            "variants": [{"name": "control", "weight": 0.5}, {"name": "tour", "weight": 0.5}],
            "baseline": 0.1, "mde": 0.2}
    r = post(env, f"{BI}/experiments", env["c1"], body)
    assert r.status_code == 202, r.text
    assert wait_for_run(env, r.json()["run_id"]) == "SUCCESS"
    rows = env["h"].query(env["db"], "select client_id, unit_type from "
                          "analytics.experiment_registry where experiment_name = ?", [body["name"]])
    assert rows == [("c1", "user")]
    entry = audit_entry(env, r.json()["request_id"])
    assert entry["after"]["client_id"] == "c1" and entry["after"]["config"]["client_id"] == "c1"


def test_a_client_token_cannot_register_for_another_client(env):
    r = post(env, f"{BI}/experiments", env["c1"], {
        "name": "x", "hypothesis": "y", "kind": "feature", "unit_type": "user",
        "primary_metric": "conversion", "client_id": "c2",
        "variants": [{"name": "control", "weight": 0.5}, {"name": "b", "weight": 0.5}]})
    assert r.status_code == 403


def test_alert_rules_launch_applies_the_rules_file_as_the_admin(env):
    r = post(env, f"{BI}/alerts/rules", env["admin"], {})
    assert r.status_code == 202, r.text
    assert wait_for_run(env, r.json()["run_id"]) == "SUCCESS"
    assert env["h"].query(env["db"], "select count(*) from ops.alert_rule_sets") == [(1,)]
    assert env["h"].query(env["db"], "select actor from audit.audit_log where "
                          "action not like 'api.%' and object like '%alert_rule%'") == \
        [(f"api:{ADMIN}",)]


def test_an_unreachable_webserver_is_502_and_the_attempt_is_audited(env):
    count = ("select count(*) from audit.audit_log where action = 'api.apply_alert_rules'")
    (before,), = env["h"].query(env["db"], count)
    dead = env["h"].Server(env["db"], dagster_url=f"http://127.0.0.1:{env['h'].free_port()}")
    try:
        r = post({**env, "server": dead}, f"{BI}/alerts/rules", env["admin"], {})
    finally:
        dead.stop()
    assert r.status_code == 502 and "Dagster" in r.json()["detail"]
    assert env["h"].query(env["db"], count) == [(before + 1,)]
