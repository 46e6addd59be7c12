"""The customers group materialized by the nightly job on tiny data (DuckDB): every table is
written with statuses, the status checks pass, the analyst's metadata is there, and the
client-keyed reporting table joins the analytics back to each client's end-customers.

Tiny covers 50 days, shorter than the simulator's 60-day refractory period after a purchase
decision (params.REFRACTORY_DAYS), so no end-customer can have bought twice, and its one
month end has no complete 30-day churn window: the group must come through with the
documented statuses (no_repeat_buyers, insufficient_history, no_model) and null values rather
than fail. tests/integration/test_customers_truth_small.py covers the computed paths."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

TABLES = ("customer_rfm", "customer_clusters", "customer_cluster_profiles", "customer_clv",
          "customer_clv_segments", "customer_clv_fits", "client_churn_risk", "client_health",
          "segment_transitions")


@pytest.fixture(scope="module")
def built(built_tiny_env):
    """A copy of the session's tiny nightly build (conftest: the same job, run once)."""
    return built_tiny_env


def test_every_customers_table_is_written_and_the_status_checks_pass(built):
    env, result = built
    for table in TABLES:  # every table exists; the segment and transition ones may be empty
        env.query(f"select count(*) as n from analytics.{table}")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    for name in ("customer_clv_statuses_hold", "client_churn_risk_statuses_hold",
                 "customer_rfm_statuses_hold"):
        assert checks[name] is True, name


def test_every_end_customer_with_an_order_has_one_rfm_row_and_a_segment(built):
    env, _ = built
    got = env.query("""
        select (select count(*) from marts.dim_end_customers) as customers,
               (select count(*) from analytics.customer_rfm) as rfm_rows,
               (select count(*) from analytics.customer_rfm
                where status = 'ok' and segment is null) as unsegmented,
               (select count(distinct fct.client_id || '/' || fct.customer_id)
                from marts.fct_conversions as fct) as ordering_customers""")
    row = got.row(0, named=True)
    assert row["customers"] == row["rfm_rows"] == row["ordering_customers"]
    assert row["unsegmented"] == 0


def test_no_repeat_buyer_within_the_refractory_period_gives_a_status_not_a_value(built):
    from dagster_project.simulator import params as P

    env, _ = built
    assert P.SCALES["tiny"].days < P.REFRACTORY_DAYS
    assert env.query("select max(repeat_order_days) as x from marts.dim_end_customers")["x"][0] == 0
    clv = env.query("select * from analytics.customer_clv")
    assert set(clv["status"]) == {"no_repeat_buyers"}
    assert clv["clv"].null_count() == clv["p_alive"].null_count() == clv.height
    churn = env.query("select * from analytics.client_churn_risk")
    assert set(churn["status"]) == {"insufficient_history"} and churn["churn_risk"].null_count() == churn.height
    health = env.query("select * from analytics.client_health")
    assert set(health["status"]) == {"insufficient_history"}
    assert health["health_segment"].null_count() == health.height


def test_reporting_table_carries_each_clients_customers_with_rfm_and_clv_status(built):
    env, _ = built
    rpt = env.query("select * from reporting.rpt_client_customers")
    assert rpt.height == env.query("select count(*) as n from marts.dim_end_customers")["n"][0]
    assert rpt["rfm_segment"].null_count() == rpt.filter(rpt["rfm_status"] != "ok").height
    assert set(rpt["clv_status"]) == {"no_repeat_buyers"} and rpt["clv_12m"].null_count() == rpt.height


def test_the_analyst_sees_plots_rules_and_held_out_figures(built):
    _, result = built
    meta = {m.asset_key.to_user_string(): m.materialization.metadata
            for m in result.get_asset_materialization_events()}
    assert "data:image/png;base64" in meta["analytics/customer_rfm"]["segment_sizes"].value
    assert "champions" in meta["analytics/customer_rfm"]["rules"].value
    churn = meta["analytics/client_churn_risk"]
    assert churn["status"].value == "insufficient_history"
    assert "labelled snapshot date" in churn["status_message"].value
    assert meta["analytics/customer_clv"]["pooled_status"].value == "no_repeat_buyers"
    assert "silhouette_by_k" in meta["analytics/customer_clusters"]
