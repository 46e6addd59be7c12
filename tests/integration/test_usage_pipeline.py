"""The usage and performance groups through Dagster on tiny data (DuckDB): every table written,
the status checks pass, the numbers reconcile with the marts they come from, a fast error-budget
burn writes its alert event (once, however often the asset runs), and the planted recurring
error window of the simulator is caught.

Only what the two groups need is materialized (their assets and everything upstream: ingest,
the dbt models, the attribution models). Tiny covers 50 days (7 full weeks), too few for the
frequency curve (8 weeks per client): those rows must carry statuses, not numbers."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl
import pytest

pytestmark = pytest.mark.integration

USAGE_TABLES = ("usage_platform_summary", "usage_platform_trends", "usage_platform_correlations",
                "usage_feature_adoption_curves", "usage_adoption_by_tier", "usage_feature_effects",
                "automation_savings", "posting_recommendations", "posting_peak_hours", "posting_hour_profiles",
                "posting_day_profiles", "posting_frequency_curves")
PERFORMANCE_TABLES = ("performance_slo_burn", "performance_latency", "content_generation_performance",
                      "performance_status")
LOOKBACK = 24 * 60  # alert on every fast-burn hour of the tiny history


def _run(defs, run_config=None):
    selection = dg.AssetSelection.groups("usage", "performance").upstream()
    job = defs.resolve_implicit_global_asset_job_def()
    keys = selection.resolve(defs.resolve_asset_graph())
    return job.execute_in_process(instance=dg.DagsterInstance.get(), asset_selection=list(keys),
                                  run_config=run_config or {})


@pytest.fixture(scope="module")
def built(module_pipeline_env):
    from dagster_project.definitions import defs

    config = {"ops": {"performance": {"config": {"alert_lookback_hours": LOOKBACK}}}}
    result = _run(defs(), config)
    assert result.success
    return module_pipeline_env, result, defs()


def test_every_table_is_written_and_the_status_checks_pass(built):
    env, result, _ = built
    for table in USAGE_TABLES + PERFORMANCE_TABLES:
        assert env.query(f"select count(*) as n from analytics.{table}")["n"][0] > 0, table
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    usage_checks = [c for c in checks if c.startswith(("usage_", "posting_"))]
    assert len(usage_checks) == 5 and all(checks[c] for c in usage_checks)


def test_platform_revenue_reconciles_with_the_recommended_attribution_model(built):
    env, _, _ = built
    got = env.query("select client_id, sum(attributed_revenue) as r from analytics.usage_platform_summary "
                    "group by client_id")
    want = env.query("""
        select a.client_id, sum(a.attributed_revenue) as r
        from analytics.channel_attribution as a
        inner join (select distinct client_id, recommended_model from analytics.attribution_model_comparison) as m
            on a.client_id = m.client_id and a.attribution_model = m.recommended_model
        where a.channel in ('instagram', 'tiktok', 'youtube', 'linkedin', 'twitter', 'facebook')
        group by a.client_id""")
    joined = want.join(got, on="client_id", how="left", suffix="_got")
    assert joined["r_got"].null_count() == 0
    assert (joined["r"] - joined["r_got"]).abs().max() < 1e-6
    # the weekly series carry the same revenue, spread over the weeks (full weeks only)
    trend_total = env.query("select sum(mean * weeks) as r from analytics.usage_platform_trends "
                            "where metric = 'attributed_revenue'")["r"][0]
    assert 0 < trend_total <= want["r"].sum() + 1e-6


def test_posts_and_engagement_rate_reconcile_with_the_daily_mart(built):
    env, _, _ = built
    summary = env.query("select * from analytics.usage_platform_summary")
    weeks = env.query("select min(activity_date) as a, max(activity_date) as b from marts.fct_platform_usage_daily")
    from dagster_project.analytics.usage import full_weeks

    w = full_weeks(weeks["a"][0], weeks["b"][0])
    start, end = w.min(), w.max()
    mart = env.query(f"""select client_id, platform, sum(posts_published) as mart_posts, cast(sum(impressions) as double) as imp,
        cast(sum(engagements) as double) as eng from marts.fct_platform_usage_daily
        where activity_date >= date '{start}' and activity_date < date '{end}' + interval 7 day
        group by 1, 2""")
    joined = mart.join(summary, on=["client_id", "platform"])
    assert joined.height == mart.height
    assert (joined["posts"] == joined["mart_posts"]).all()
    ok = joined.filter(pl.col("status") == "ok")
    assert ((ok["engagement_rate"] - ok["eng"] / ok["imp"]).abs() < 1e-12).all()


def test_too_short_a_history_gives_frequency_statuses_not_numbers(built):
    env, _, _ = built
    recs = env.query("select * from analytics.posting_recommendations")
    assert set(recs["frequency_status"]) <= {"too_few_weeks", "too_few_clients"}
    assert recs["recommended_posts_per_week"].null_count() == recs.height
    assert set(recs["timezone"]) == {"UTC"}
    assert (recs["peak_hours"].is_null() == (recs["hours_status"] != "ok")).all()


def test_fast_burns_write_one_alert_event_each_and_a_rerun_adds_none(built):
    env, _, _defs = built
    burn = env.query("select service, hour_at from analytics.performance_slo_burn where fast_burn")
    events = env.query("select * from analytics.alert_events where source = 'performance_slo'")
    assert burn.height > 0 and events.height == burn.height
    assert set(events["severity"]) == {"critical"}
    assert set(zip(events["entity"], events["occurred_at"])) == set(zip(burn["service"], burn["hour_at"]))
    details = json.loads(events["details"][0])
    assert details["burn_1h"] >= 14.4
    from dagster_project.defs.performance.assets import performance
    from dagster_project.warehouse import Warehouse

    again = dg.materialize([performance], resources={"warehouse": Warehouse(duckdb_path=str(env.duckdb_path))},
                           run_config={"ops": {"performance": {"config": {"alert_lookback_hours": LOOKBACK}}}},
                           instance=dg.DagsterInstance.get())
    assert again.success
    assert env.query("select count(*) as n from analytics.alert_events "
                     "where source = 'performance_slo'")["n"][0] == events.height


def test_the_planted_recurring_error_window_burns_the_budget_fast(built):
    """monitoring.json: a recurring error window (error rate 0.3, 20 minutes at 02:00 each day for
    a week) on /v1/ai/generate, the content_ai service's busiest-error endpoint: each such hour's
    service error ratio is about 0.3 x 20 / 60 x its share of the service's requests, far above
    14.4 x 0.1%."""
    env, _, _ = built
    truth = json.loads((env.truth / "monitoring.json").read_text())
    windows = [a for a in truth["anomalies"] if a["pattern"] == "recurring" and a["metric"] == "errors"]
    assert windows
    burn = env.query("select hour_at, fast_burn from analytics.performance_slo_burn where service = 'content_ai'")
    hours = pl.concat([pl.datetime_range(pl.lit(w["start"]).str.to_datetime(), pl.lit(w["end"]).str.to_datetime(),
                                         "1d", closed="left", eager=True).dt.truncate("1h").to_frame("hour_at") for w in windows])
    flagged = hours.join(burn, on="hour_at")
    assert flagged.height >= 5 and flagged["fast_burn"].all(), flagged


def test_the_performance_assets_are_in_the_hourly_job(built):
    _, _, defs = built
    job = defs.resolve_job_def("hourly_refresh")
    keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert "analytics/performance_status" in keys and "analytics/posting_recommendations" not in keys
