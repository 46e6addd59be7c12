"""The pricing group materialized through Dagster on tiny data (DuckDB), then the approval
workflow through its own jobs: the sensor turns a price-changing recommendation into a pending
proposal, a non-admin's review is refused (and audited), an admin's approval takes effect, the
daily job appends the price exactly once, and the price mart shows it after a dbt build.

Tiny covers 50 days (7 complete weeks per list offer, fewer than min_weeks = 8): the observational
estimates of the experiment tiers carry too_few_weeks, their combined estimates come from the
price experiment, and no tier's interval excludes -1, so every tier is held. The workflow is
exercised through the floor rule (a guardrails file whose starter floor lies above the list
price makes the documented floor increase), not by writing into the analytics tables."""

from __future__ import annotations

import dagster as dg
import pytest

pytestmark = pytest.mark.integration

ADMIN = "pricing-admin@example.com"


@pytest.fixture(scope="module")
def built(built_tiny_env):
    """A copy of the session's tiny nightly build (conftest): the pricing group and everything
    upstream of it, as the nightly job materializes them."""
    from dagster_project.definitions import defs

    env, result = built_tiny_env
    return env, defs(), result


def test_every_pricing_table_is_written_and_the_checks_pass(built):
    env, _, result = built
    for table in ("price_elasticity", "price_demand_model", "price_demand_forecast",
                  "competitive_position", "price_simulations", "price_recommendations"):
        assert env.query(f"select count(*) as n from analytics.{table}")["n"][0] > 0, table
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    for name in ("price_elasticity_statuses_hold", "price_recommendations_statuses_hold",
                 "price_recommendations_within_guardrails"):
        assert checks[name] is True, name
    rpt = env.query("select * from reporting.rpt_price_recommendations")
    assert sorted(rpt["tier"]) == ["business", "enterprise", "professional", "starter"]
    assert rpt["action"].null_count() == 0


def test_tiny_history_gives_documented_statuses_and_holds(built):
    env, _, _ = built
    el = env.query("select * from analytics.price_elasticity")
    obs = el.filter((el["method"] == "observational") & el["tier"].is_in(["starter", "professional"]))
    assert set(obs["status"]) == {"too_few_weeks"} and obs["estimate"].null_count() == 2
    comb = el.filter(el["method"] == "combined")
    assert set(comb["status"]) == {"ok"}
    assert set(env.query("select status from analytics.price_demand_model")["status"]) == {
        "no_holdout"}
    recs = env.query("select * from analytics.price_recommendations")
    assert set(recs["action"]) == {"hold"} and set(recs["classification"]) == {"undetermined"}
    # the offer mart counts every sign-up after the launch day exactly once
    got = env.query("select sum(signups) as n from marts.fct_price_offers_weekly")["n"][0]
    firsts = env.query("""select count(*) as n from intermediate.int_subscription_states
        where event_seq = 1 and cast(event_at as date) >
            (select min(cast(event_at as date)) from intermediate.int_subscription_states
             where event_seq = 1)""")["n"][0]
    assert got == firsts


def _run(d, name, config=None):
    return d.resolve_job_def(name).execute_in_process(
        instance=dg.DagsterInstance.get(), run_config=config or {}, raise_on_error=False)


def test_the_approval_workflow_runs_through_its_jobs_and_the_marts_show_the_price(
        built, tmp_path, monkeypatch):
    from dagster_project.analytics.pricing import load_guardrails
    from dagster_project.defs.pricing.sensors import pricing_proposals_sensor

    env, d, _ = built
    monkeypatch.setenv("BI_PRICING_ADMINS", ADMIN)
    text = load_guardrails.__globals__["DEFAULT_PATH"].read_text()
    path = tmp_path / "guardrails.yml"
    path.write_text(text.replace("starter: 19.0", "starter: 35.0"))
    cfg = {"ops": {"price_recommendations": {"config": {"guardrails_path": str(path)}}}}
    instance = dg.DagsterInstance.get()
    recs = d.resolve_job_def("nightly_refresh").execute_in_process(
        instance=instance, run_config=cfg, asset_selection=[
            dg.AssetKey(["analytics", "price_simulations"]),
            dg.AssetKey(["analytics", "price_recommendations"])])
    assert recs.success
    starter = env.query("select * from analytics.price_recommendations where tier = 'starter'"
                        ).row(0, named=True)
    assert starter["action"] == "increase" and starter["capped_by"] == "the floor"
    # +10% (the maximum step; the floor lies beyond it) rounded down to the cent: tiny's
    # starter list price is 29.99, and 32.989 rounds to 32.98, inside the step
    assert starter["current_price"] == 29.99 and starter["suggested_price"] == 32.98
    # the sensor asks for one propose_prices run per new recommendations materialization
    with dg.build_sensor_context(instance=instance, definitions=d) as ctx:
        request = pricing_proposals_sensor.evaluate_tick(ctx).run_requests
    assert len(request) == 1 and pricing_proposals_sensor.job_name == "propose_prices"
    assert _run(d, "propose_prices").success
    assert _run(d, "propose_prices").success  # a rerun makes no second proposal
    proposals = env.query("select * from ops.pricing_proposals")
    assert proposals.height == 1 and proposals["status"][0] == "pending"
    pid = proposals["proposal_id"][0]

    def review(**config):
        return _run(d, "review_pricing_proposal",
                    {"ops": {"review_pricing_proposal_op": {"config": config}}})

    refused = review(proposal_id=pid, decision="approve", reviewer="intruder@example.com")
    assert not refused.success
    failure = next(e for e in refused.all_events if e.event_type_value == "STEP_FAILURE")
    assert "is not in the pricing admin list" in failure.event_specific_data.error.message
    ok = review(proposal_id=pid, decision="approve", reviewer=ADMIN, notes="go", notice_days=0)
    assert ok.success
    again = review(proposal_id=pid, decision="reject", reviewer=ADMIN, notes="changed my mind")
    assert not again.success
    log = env.query("select actor, action from audit.audit_log order by id")
    assert log["action"].to_list()[-3:] == ["pricing_proposal.review_refused",
                                             "pricing_proposal.approved",
                                             "pricing_proposal.review_refused"]
    assert env.query("select count(*) as n from analytics.alert_events where source = 'pricing'"
                     )["n"][0] == 1
    assert _run(d, "apply_approved_prices").success
    assert _run(d, "apply_approved_prices").success  # a rerun changes nothing
    applied = env.query("select * from raw.plan_prices where source = 'approved_proposal'")
    assert applied.height == 1 and applied["monthly_price"][0] == starter["suggested_price"]
    dbt = d.resolve_job_def("nightly_refresh").execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey(["marts", "fct_price_history"])])
    assert dbt.success
    current = env.query("select * from marts.fct_price_history where tier = 'starter' and "
                        "is_current").row(0, named=True)
    assert current["monthly_price"] == starter["suggested_price"]
    assert current["source"] == "approved_proposal"
