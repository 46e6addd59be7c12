"""The serving API over REST, against a real uvicorn process on a tiny reporting warehouse:
isolation of clients, tokens (expired, revoked, wrong scope, admin-only), validation, rate
limit, body size limit, compression, the cache and its invalidation by a real materialization.
Expected rows come from SQL on the same DuckDB file, written here."""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
import httpx
import pytest

from dagster_project.serving import tokens
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.integration
BI = "/api/v1/bi"
RATE, BURST = 2.0, 10  # the server's token bucket in this module


@pytest.fixture(scope="module")
def env(tmp_path_factory, dbt_helpers, serving_helpers):
    folder = tmp_path_factory.mktemp("serving_api")
    db = serving_helpers.build_serving_warehouse(folder, dbt_helpers)
    wh = Warehouse(duckdb_path=str(db))
    server = serving_helpers.Server(db, rate_per_second=RATE, burst=BURST, gzip_min_bytes=200)
    try:
        yield {"db": db, "wh": wh, "server": server, "h": serving_helpers}
    finally:
        server.stop()


def token(env, role="client", client="c1", days=1.0, name=None) -> str:
    """A fresh token per test (its own token bucket), issued while the server runs."""
    return tokens.issue(env["wh"], name or f"t-{time.monotonic_ns()}", role,
                        client if role == "client" else None, days, "test")[0]


def post(env, path, tok, body=None, headers=None) -> httpx.Response:
    return httpx.post(env["server"].url + path, json=body if body is not None else {},
                      headers={**(env["h"].bearer(tok) if tok else {}), **(headers or {})},
                      timeout=30)


def revenue_rows(env, client):
    return env["h"].query(env["db"], "select revenue_date, revenue from "
                          "reporting.rpt_client_revenue_daily where client_id = ? "
                          "order by revenue_date", [client])


def test_a_client_token_reads_exactly_its_own_revenue_rows(env):
    for client in ("c1", "c2"):
        r = post(env, f"{BI}/revenue-tracking", token(env, client=client),
                 {"timeframe": {"start_date": "2024-01-01", "end_date": "2024-12-31"}})
        assert r.status_code == 200, r.text
        got = [(dt.date.fromisoformat(d["revenue_date"]), d["revenue"]) for d in r.json()["daily"]]
        assert got == revenue_rows(env, client) and got
        assert r.json()["client_id"] == client
        expected_total = sum(rev for _, rev in revenue_rows(env, client))
        assert r.json()["totals"][0]["revenue"] == pytest.approx(expected_total)


def test_a_client_token_naming_another_client_is_forbidden(env):
    r = post(env, f"{BI}/revenue-tracking", token(env, client="c1"), {"client_id": "c2"})
    assert r.status_code == 403 and "scoped to client c1" in r.json()["detail"]


def test_usage_of_a_client_without_rows_is_no_data_not_another_clients_rows(env):
    assert env["h"].query(env["db"], "select count(*) from reporting.rpt_client_usage_daily "
                          "where client_id = 'c2'") == [(0,)]
    r = post(env, f"{BI}/usage-analytics", token(env, client="c2"))
    assert r.status_code == 200
    assert r.json()["status"] == "no_data" and r.json()["daily"] == []


def test_usage_totals_are_sums_over_the_clients_rows(env):
    expected = env["h"].query(env["db"], """
        select platform, sum(impressions), sum(engagements) from reporting.rpt_client_usage_daily
        where client_id = 'c1' group by platform order by platform""")
    r = post(env, f"{BI}/usage-analytics", token(env, client="c1"),
             {"timeframe": {"start_date": "2023-01-01", "end_date": "2024-12-31"}})
    totals = [(t["platform"], t["impressions"], t["engagements"]) for t in r.json()["totals"]]
    assert totals == [tuple(row) for row in expected] and totals


def test_content_generation_of_the_client_only_beside_the_platform_status(env):
    r = post(env, f"{BI}/performance-monitoring", token(env, client="c2"))
    assert r.status_code == 200
    assert [g["client_id"] for g in r.json()["content_generation"]] == ["c2"]
    assert {s["component"] for s in r.json()["health"]} == {"overall", "content_ai"}
    # the latest hour only: 23:00 (content_ai and publishing), not content_ai's 22:00
    assert sorted(s["service"] for s in r.json()["services"]) == ["content_ai", "publishing"]


def test_segments_count_the_clients_customers_by_segment(env):
    expected = env["h"].query(env["db"], "select rfm_segment, count(*) from "
                              "reporting.rpt_client_customers where client_id = 'c1' "
                              "group by 1 order by 1")
    r = post(env, f"{BI}/segments", token(env, client="c1"))
    assert [(s["segment"], s["customers"]) for s in r.json()["segments"]] == expected


def test_experiment_results_are_visible_to_their_client_and_hidden_from_others(env):
    c1 = {"Authorization": f"Bearer {token(env, client='c1')}"}
    url = env["server"].url + BI + "/experiments/{}/results"
    own = httpx.get(url.format("exp-c1"), headers=c1)
    assert own.status_code == 200 and [r["rel_lift"] for r in own.json()["results"]] == [0.04]
    for other in ("exp-c2", "exp-platform", "exp-missing"):
        assert httpx.get(url.format(other), headers=c1).status_code == 404
    admin = {"Authorization": f"Bearer {token(env, role='admin')}"}
    assert httpx.get(url.format("exp-platform"), headers=admin).status_code == 200


def test_missing_malformed_unknown_and_wrong_secret_tokens_are_401(env):
    good = token(env)
    token_id = tokens.split_token(good)[0]
    for bad in (None, "nonsense", "bi_000000000000.secret", f"bi_{token_id}.wrong-secret"):
        r = post(env, f"{BI}/revenue-tracking", bad)
        assert r.status_code == 401, bad
        assert r.headers["www-authenticate"] == "Bearer"


def test_an_expired_token_is_401(env):
    expired = token(env, days=1e-6)  # 86 ms
    time.sleep(0.2)
    r = post(env, f"{BI}/revenue-tracking", expired)
    assert r.status_code == 401 and r.json()["detail"] == "token expired"


def test_a_revoked_token_is_401_within_a_poll_interval(env):
    tok = token(env)
    assert post(env, f"{BI}/revenue-tracking", tok).status_code == 200
    tokens.revoke(env["wh"], tokens.split_token(tok)[0], "test")
    deadline = time.monotonic() + 5
    while (r := post(env, f"{BI}/revenue-tracking", tok)).status_code == 200:
        assert time.monotonic() < deadline, "revocation not seen within 5 s"
        time.sleep(0.1)
    assert r.status_code == 401 and r.json()["detail"] == "token revoked"


def test_admin_only_endpoints_refuse_a_client_token(env):
    tok = token(env)
    assert post(env, f"{BI}/pricing-optimization", tok).status_code == 403
    assert post(env, f"{BI}/approve-pricing", tok, {"proposal_id": "pp-x",
                                                    "decision": "approve"}).status_code == 403
    assert post(env, f"{BI}/alerts/rules", tok).status_code == 403


def test_an_admin_reads_pricing_recommendations_and_must_name_a_client_elsewhere(env):
    admin = token(env, role="admin")
    r = post(env, f"{BI}/pricing-optimization", admin)
    expected = env["h"].query(env["db"], "select tier from reporting.rpt_price_recommendations "
                              "order by tier")
    assert [x["tier"] for x in r.json()["recommendations"]] == [t for (t,) in expected]
    # ops.pricing_proposals does not exist before the first proposal: that part is null
    assert r.json()["status"] == "partial" and r.json()["proposals"] is None
    r = post(env, f"{BI}/revenue-tracking", admin)
    assert r.status_code == 422 and "client_id is required" in r.json()["detail"]
    r = post(env, f"{BI}/revenue-tracking", admin, {"client_id": "c2"})
    assert [d["revenue"] for d in r.json()["daily"]] == [rev for _, rev in revenue_rows(env, "c2")]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"timeframe": {"start_date": "2024-02-01", "end_date": "2024-01-01"}}, "body.timeframe",
     "start_date must be on or before end_date"),
    ({"timeframe": {"start_date": "yesterday"}}, "body.timeframe.start_date", "valid date"),
    ({"client_id": "c1; drop table x"}, "body.client_id", "should match pattern"),
    ({"filters": {"platforms": ["myspace"]}}, "body.filters.platforms.0", "instagram"),
    ({"colour": "red"}, "body.colour", "Extra inputs are not permitted"),
])
def test_invalid_bodies_are_422_naming_the_field_and_rule(env, body, field, words):
    r = post(env, f"{BI}/usage-analytics", token(env), body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert any(d["field"] == field and words in d["message"] for d in detail), detail


def test_a_burst_beyond_the_bucket_is_429_with_retry_after(env):
    tok = token(env)
    started, granted = time.monotonic(), 0
    for _ in range(200):
        r = post(env, f"{BI}/revenue-tracking", tok)
        if r.status_code != 200:
            break
        granted += 1
    elapsed = time.monotonic() - started
    assert r.status_code == 429, "no 429 in 200 requests"
    # a full bucket of BURST, refilled at RATE per second while the requests ran
    assert BURST <= granted <= BURST + RATE * elapsed + 1
    # the bucket is empty: one token is back within 1 / RATE = 0.5 s, rounded up to 1
    assert r.headers["retry-after"] == "1"


def test_a_body_over_the_limit_is_413(env):
    big = {"filters": {"platforms": ["instagram"]}, "pad": "x" * (64 * 1024)}
    r = post(env, f"{BI}/usage-analytics", token(env), big)
    assert r.status_code == 413 and "larger than 65536 bytes" in r.json()["detail"]
    chunked = httpx.post(env["server"].url + f"{BI}/usage-analytics",
                         content=iter([b"{" + b" " * 40000, b" " * 40000 + b"}"]),
                         headers={**env["h"].bearer(token(env)),
                                  "content-type": "application/json"})
    assert chunked.status_code == 413


def test_large_responses_are_gzip_compressed_and_plain_for_a_client_without_gzip(env):
    zipped = post(env, f"{BI}/revenue-tracking", token(env), headers={"Accept-Encoding": "gzip"})
    plain = post(env, f"{BI}/revenue-tracking", token(env),
                 headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert zipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["x-cache"] == "hit" or plain.headers["x-cache"] == "hit"
    assert int(zipped.headers["content-length"]) < len(plain.content)  # sent compressed
    assert zipped.json() == plain.json()  # httpx decoded the gzip stream


def test_health_needs_no_token(env):
    r = httpx.get(env["server"].url + "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def _materialize_revenue_report(env, instance):
    """A real Dagster materialization of reporting/rpt_client_revenue_daily (dbt)."""
    from dagster_project.definitions import defs

    job = defs().resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey(["reporting", "rpt_client_revenue_daily"])])
    assert result.success


def test_cache_serves_until_a_materialization_lands_then_the_new_rows(env, monkeypatch,
                                                                     tmp_path):
    from dagster_project.defs.serving.sensors import serving_versions_sensor

    tok = token(env, client="c1")
    body = {"timeframe": {"start_date": "2024-01-02", "end_date": "2024-12-30"}}  # this test's
    first = post(env, f"{BI}/revenue-tracking", tok, body)
    second = post(env, f"{BI}/revenue-tracking", tok, body)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit")
    # a new day lands in the mart the report is built from (what a nightly build would add)
    # through the Warehouse, whose open waits while the service's version poll holds the file
    with env["wh"].session() as s:
        s.execute("insert into marts.fct_revenue_daily by name select * replace "
                  "(date '2024-02-01' as revenue_date, 500.0 as revenue) from "
                  "marts.fct_revenue_daily where client_id = 'c1' limit 1")
    assert post(env, f"{BI}/revenue-tracking", tok, body).json() == second.json()  # cached
    monkeypatch.setenv("BI_DUCKDB_PATH", str(env["db"]))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        _materialize_revenue_report(env, instance)
        assert post(env, f"{BI}/revenue-tracking", tok, body).headers["x-cache"] == "hit"
        context = dg.build_sensor_context(instance=instance,
                                          resources={"warehouse": env["wh"]})
        serving_versions_sensor(context)
    expected = revenue_rows(env, "c1")
    assert (dt.date(2024, 2, 1), 500.0) in expected
    deadline = time.monotonic() + 5
    while True:
        r = post(env, f"{BI}/revenue-tracking", tok, body)
        if r.headers["x-cache"] == "miss" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.headers["x-cache"] == "miss"
    got = [(dt.date.fromisoformat(d["revenue_date"]), d["revenue"]) for d in r.json()["daily"]]
    assert got == expected
    assert r.json()["versions"] == {"reporting/rpt_client_revenue_daily": 1,
                                    "reporting/rpt_client_subscription": 0}
