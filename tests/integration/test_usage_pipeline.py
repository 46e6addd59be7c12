"""The usage, performance and insights groups through Dagster on tiny data (DuckDB): every table
written, the status checks pass, the numbers reconcile with the marts they come from, a fast
error-budget burn writes its alert event (once, however often the asset runs), the planted
recurring error window of the simulator is caught, every number of every insight is re-derived
from the warehouse by SQL written here, and the business metrics are recomputed from the marts.

Only what the three groups need is materialized (their assets and everything upstream: ingest,
the dbt models, every analytics group the insights read, and the insights group's reporting
model). Tiny covers 50 days (7 full weeks), too few for the frequency curve (8 weeks per
client): those rows must carry statuses, not numbers. The forecasts run with a 7-day horizon
(as tests/integration/test_forecasting_pipeline.py runs them) so that tiny has some."""

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
MAX_PER_CLIENT = 3
RUN_CONFIG = {"ops": {
    "performance": {"config": {"alert_lookback_hours": LOOKBACK}},
    "revenue_forecasts": {"config": {"horizon_days": 7, "folds": 2, "fold_step_days": 7, "min_train_days": 35}},
    "analytics__insights": {"config": {"max_per_client": MAX_PER_CLIENT}},
}}


def _run(defs, run_config=None):
    # multi-assets that cannot be subset (the forecasts) come whole, with what they read
    selection = dg.AssetSelection.groups("usage", "performance", "insights").upstream() \
        .required_multi_asset_neighbors().upstream()
    job = defs.resolve_implicit_global_asset_job_def()
    keys = selection.resolve(defs.resolve_asset_graph())
    return job.execute_in_process(instance=dg.DagsterInstance.get(), asset_selection=list(keys),
                                  run_config=run_config or {})


@pytest.fixture(scope="module")
def built(module_pipeline_env):
    from dagster_project.definitions import defs

    result = _run(defs(), RUN_CONFIG)
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


# --- insights (issue 16, part 5) -------------------------------------------------------------

# The rounding rule README states: scale, round half away from zero to the decimals, thousands
# separator, prefix and suffix (written out here, not imported from the code under test).
FORMATS = {"money": (1, 0, "$", ""), "price": (1, 2, "$", ""), "percent": (100, 1, "", "%"),
           "ratio": (1, 2, "", "x"), "number": (1, 1, "", ""), "count": (1, 0, "", "")}
HOURLY_RATE = 50.0  # automation_savings' default hourly_rate (README, Usage)
OUTLOOK_DAYS = 28


def _rounded(x: float, fmt: str) -> tuple[float, str]:
    """(the value in display units rounded as stated, its text)."""
    import math

    scale, decimals, prefix, suffix = FORMATS[fmt]
    units = math.floor(abs(x) * scale * 10**decimals + 0.5)
    whole, frac = divmod(units, 10**decimals)
    digits = f"{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")
    sign = "-" if x < 0 and units else ""
    return (-1 if sign else 1) * units / 10**decimals, f"{sign}{prefix}{digits}{suffix}"


def _one(env, sql: str) -> dict:
    df = env.query(sql)
    assert df.height == 1, (sql, df)
    return df.row(0, named=True)


def _recommended(table: str) -> str:
    return f"""(select a.* from analytics.{table} as a inner join (select distinct client_id, recommended_model
              from analytics.attribution_model_comparison) as m on a.client_id = m.client_id
              and a.attribution_model = m.recommended_model)"""


def _truth(env, kind: str, client: str | None, subject: str) -> dict:
    """The numbers of one insight, re-derived from the warehouse."""
    c = f"'{client}'"
    if kind == "top_revenue_platform":
        return _one(env, f"""select attributed_revenue as revenue, revenue_lower, revenue_upper
            from analytics.usage_platform_summary where client_id = {c} and platform = '{subject}'""")
    if kind in ("engagement_rising", "engagement_falling"):
        sign, low, high = (1, "relative_slope_low", "relative_slope_high") if kind == "engagement_rising" \
            else (-1, "relative_slope_high", "relative_slope_low")
        return _one(env, f"""select {sign} * relative_slope as weekly_change, {sign} * {low} as change_low,
            {sign} * {high} as change_high, weeks from analytics.usage_platform_trends
            where client_id = {c} and platform = '{subject}' and metric = 'engagement_rate'""")
    if kind == "automation_savings":
        return _one(env, f"""with f as (select feature_name, sum(time_saved_minutes) / 60.0 as h, sum(uses) as u
                from marts.fct_feature_time_saved_daily where client_id = {c} group by 1)
            select sum(h) as hours_saved, sum(h) * {HOURLY_RATE} as value_saved, sum(u) as uses,
                max(h) / sum(h) as top_share from f""")
    if kind == "best_roi_channel":
        return _one(env, f"""select roas, attributed_revenue as revenue, spend, attributed_conversions as conversions
            from {_recommended('attribution_roi')} as r where client_id = {c} and channel = '{subject}'""")
    if kind == "conversion_leader":
        return _one(env, f"""select attributed_conversions / (select sum(attributed_conversions)
                from {_recommended('channel_attribution')} as t where client_id = {c} and status = 'ok'
                and channel <> '(none)') as share, attributed_conversions as conversions,
                conversions_lower, (select sum(attributed_conversions) from {_recommended('channel_attribution')}
                as t where client_id = {c} and status = 'ok' and channel <> '(none)') as total_conversions
            from {_recommended('channel_attribution')} as a where client_id = {c} and channel = '{subject}'""")
    if kind == "experiment_winner":
        return _one(env, f"""select rel_lift as lift, rel_ci_low as lift_low, rel_ci_high as lift_high,
            chance_to_beat_control as chance from analytics.experiment_results
            where experiment_id = '{subject}' and is_primary and variant = winning_variant""")
    if kind == "metric_anomaly":
        metric, entity = subject.split(":", 1)
        scale = 100.0 if metric.endswith("_rate") else 1.0
        return _one(env, f"""select value * {scale} as value, expected * {scale} as expected,
            (value - expected) / abs(expected) as deviation from analytics.metric_anomalies
            where status = 'ok' and metric = '{metric}' and entity = '{entity}' order by ts desc, score desc limit 1""")
    if kind == "revenue_outlook":
        return _one(env, f"""select sum(forecast) as forecast_total, count(*) as days, sum(forecast) / count(*) as daily_forecast
            from analytics.revenue_forecast where series_kind = 'client' and client_id = {c} and status = 'ok'
            and horizon_days <= {OUTLOOK_DAYS} and level = (select min(level) from analytics.revenue_forecast
            where series_kind = 'client' and status = 'ok')""")
    if kind == "churn_risk":
        return _one(env, f"""select r.churn_risk as risk, r.baseline_risk, r.churn_risk * d.current_mrr * 12 as mrr_at_risk
            from analytics.client_churn_risk as r join marts.dim_clients as d using (client_id)
            where r.client_id = {c} and r.status = 'ok' order by r.snapshot_date desc limit 1""")
    if kind == "price_change":
        return _one(env, f"""select current_price, suggested_price, expected_revenue_change as revenue_change,
            horizon_weeks as weeks from analytics.price_recommendations where tier = '{subject}'""")
    if kind == "generation_reliability":
        return _one(env, f"""select success_rate, jobs, success_low, success_high
            from analytics.content_generation_performance where client_id = {c}""")
    raise AssertionError(f"no re-derivation written for insight kind {kind}")


def _uncapped(env) -> pl.DataFrame:
    """The insights without the cap, from the same tables (what the cap chose from)."""
    from dagster_project.analytics import insights as ins
    from dagster_project.defs.insights.assets import read_inputs
    from dagster_project.warehouse import Warehouse

    return ins.build_insights(read_inputs(Warehouse(duckdb_path=str(env.duckdb_path))),
                              ins.InsightSettings(max_per_client=100))


def test_every_number_of_every_insight_is_re_derived_from_the_warehouse_and_shown_as_rounded(built):
    """The table's insights and those the cap left out (the platform-wide experiment winner
    among them): every number, from SQL on the warehouse."""
    env, _, _ = built
    from dagster_project.analytics.insights import load_kinds

    kinds = load_kinds()
    insights = pl.concat([env.query("select * from analytics.insights"), _uncapped(env)], how="vertical_relaxed")
    assert insights.height > 0 and insights["insight_kind"].n_unique() >= 5, insights["insight_kind"].unique()
    checked = 0
    for row in insights.iter_rows(named=True):  # a test: each insight checked on its own
        kind = kinds[row["insight_kind"]]
        truth = _truth(env, row["insight_kind"], row["client_id"], row["subject"])
        numbers = json.loads(row["supporting_numbers"])
        texts = row["sentence"] + " | " + row["recommendation"]
        assert set(numbers) == set(kind.numbers), row
        for name, fmt in kind.numbers.items():
            value, shown = _rounded(float(truth[name]), fmt)
            assert numbers[name] == pytest.approx(value, abs=1e-9), (row, name, truth[name])
            if "{" + name + "}" in kind.sentence + kind.recommendation:
                assert shown in texts, (row["sentence"], row["recommendation"], name, shown)
                checked += 1
    assert checked >= insights.height


def test_insights_are_ranked_capped_and_their_confidence_lies_in_zero_one(built):
    env, _, _ = built
    df = env.query("select * from analytics.insights")
    assert df["confidence"].is_between(0, 1).all() and df["confidence"].null_count() == 0
    assert set(df["impact_level"]) <= {"high", "medium", "low"}
    level = pl.col("money_impact").fill_null(-1)
    want_level = pl.when(level >= 1000).then(pl.lit("high")).when(level >= 100).then(pl.lit("medium")).otherwise(pl.lit("low"))
    assert (df["impact_level"] == df.select(want_level).to_series()).all()
    counts = df.group_by("client_id").agg(pl.len(), pl.col("rank").sort())
    assert counts["len"].max() <= MAX_PER_CLIENT
    assert all(r == list(range(1, len(r) + 1)) for r in counts["rank"].to_list())
    # rank order: impact level, then money impact x confidence, then confidence (descending)
    key = df.with_columns(pl.col("impact_level").replace_strict({"high": 0, "medium": 1, "low": 2}).alias("lv"),
                          (pl.col("money_impact") * pl.col("confidence")).fill_null(-1.0).alias("ev"))
    for _, g in key.sort("rank").group_by("client_id"):
        pairs = list(zip(g["lv"], (-g["ev"]).to_list(), (-g["confidence"]).to_list()))
        assert pairs == sorted(pairs), g
    # the cap binds: without it some client has more, and the capped table is their first three
    uncapped = _uncapped(env)
    assert uncapped.group_by("client_id").len()["len"].max() > MAX_PER_CLIENT
    first = uncapped.filter(pl.col("rank") <= MAX_PER_CLIENT).select("client_id", "rank", "insight_kind", "subject")
    assert first.sort("client_id", "rank").equals(df.select(first.columns).sort("client_id", "rank"))


def test_insights_cover_the_analytics_groups_that_have_ok_rows_on_tiny(built):
    env, _, _ = built
    kinds = set(_uncapped(env)["insight_kind"])
    # usage, attribution, experiments, monitoring and forecasting have ok rows on tiny; customers
    # (churn: insufficient_history), pricing (every tier holds) and performance (every client
    # healthy) have none that qualify, and so no insight
    assert {"automation_savings", "conversion_leader", "experiment_winner", "metric_anomaly",
            "revenue_outlook"} <= kinds, kinds
    assert env.query("select count(*) as n from analytics.client_churn_risk where status = 'ok'")["n"][0] == 0
    assert "churn_risk" not in kinds


# --- business metrics (issue 16, part 4) -----------------------------------------------------

def _hand_business_metrics(env) -> pl.DataFrame:
    """rpt_client_business_metrics recomputed in polars from the marts, by the definitions of its
    YAML (periods of P = min(28, days of history // 2) days up to the as-of date)."""
    import datetime as dt

    as_of = env.query("select as_of_date from intermediate.int_as_of_date")["as_of_date"][0]
    first = env.query("select min(activity_date) as d from marts.fct_platform_usage_daily")["d"][0]
    p = min(28, ((as_of - first).days + 1) // 2)
    start, prior_start = as_of - dt.timedelta(days=p - 1), as_of - dt.timedelta(days=2 * p - 1)

    def window(df, col, lo, hi):
        return df.filter(pl.col(col).is_between(lo, hi))

    revenue = env.query("select client_id, revenue_date, revenue, orders from marts.fct_revenue_daily")
    usage = env.query("select client_id, activity_date, posts_published, impressions, reach, engagements, shares, "
                      "followers_gained from marts.fct_platform_usage_daily")
    spend = env.query("select client_id, channel, spend_date, spend from marts.fct_marketing_spend_daily")
    saved = env.query("select client_id, usage_date, time_saved_minutes from marts.fct_feature_time_saved_daily")
    spent = env.query("select client_id, usage_date, duration_seconds from marts.fct_feature_usage_daily")
    social = env.query("""select distinct c.client_id, c.conversion_id, c.revenue, c.converted_date
        from marts.fct_conversions as c join marts.fct_customer_path_touches as t
        on c.client_id = t.client_id and c.conversion_id = t.conversion_id
        where t.converted and t.channel in ('instagram', 'tiktok', 'youtube', 'linkedin', 'twitter', 'facebook')""")
    platforms = ["instagram", "tiktok", "youtube", "linkedin", "twitter", "facebook"]
    fc = env.query("select client_id, horizon_days, level, forecast from analytics.revenue_forecast "
                   "where series_kind = 'client' and status = 'ok'")
    fc = fc.filter((pl.col("level") == pl.col("level").min()) & (pl.col("horizon_days") <= p))
    parts = [
        window(revenue, "revenue_date", start, as_of).group_by("client_id").agg(
            pl.col("revenue").sum().alias("total_revenue"), pl.col("orders").sum().alias("orders")),
        window(revenue, "revenue_date", prior_start, start - dt.timedelta(days=1)).group_by("client_id").agg(
            pl.col("revenue").sum().alias("prior_revenue")),
        window(usage, "activity_date", start, as_of).group_by("client_id").agg(
            pl.col("posts_published").sum().alias("posts"), pl.col("impressions", "reach", "engagements", "shares",
                                                                   "followers_gained").sum()),
        window(usage, "activity_date", prior_start, start - dt.timedelta(days=1)).group_by("client_id").agg(
            pl.col("engagements").sum().alias("prior_engagements")),
        window(spend, "spend_date", start, as_of).group_by("client_id").agg(
            pl.col("spend").sum().alias("marketing_spend"),
            pl.col("spend").filter(pl.col("channel").is_in(platforms)).sum().alias("social_spend")),
        window(saved, "usage_date", start, as_of).group_by("client_id").agg(
            (pl.col("time_saved_minutes").sum() / 60).alias("automation_hours_saved")),
        window(spent, "usage_date", start, as_of).group_by("client_id").agg(
            (pl.col("duration_seconds").sum() / 3600).alias("feature_hours_spent")),
        window(social, "converted_date", start, as_of).group_by("client_id").agg(
            pl.col("revenue").sum().alias("conversion_revenue")),
        fc.group_by("client_id").agg(pl.col("forecast").sum().alias("predicted_revenue_next_period"),
                                     pl.len().alias("forecast_days")),
    ]
    df = env.query("select client_id from marts.dim_clients")
    for part in parts:
        df = df.join(part, on="client_id", how="left")
    zero = [c for c in df.columns if c not in ("client_id", "predicted_revenue_next_period", "forecast_days")]
    df = df.with_columns(pl.col(zero).fill_null(0).cast(pl.Float64))

    def ratio(a, b):
        return pl.when(b != 0).then(a / b)

    return df.with_columns(
        pl.lit(p).alias("period_days"), pl.lit(start).alias("period_start"),
        ratio(pl.col("total_revenue") - pl.col("prior_revenue"), pl.col("prior_revenue")).alias("revenue_growth"),
        ratio(pl.col("total_revenue"), pl.col("posts")).alias("revenue_per_post"),
        ratio(pl.col("engagements"), pl.col("impressions")).alias("engagement_rate"),
        ratio(pl.col("engagements") - pl.col("prior_engagements"), pl.col("prior_engagements")).alias("engagement_growth"),
        (ratio(pl.col("shares"), pl.col("reach")) * ratio(pl.col("followers_gained"), pl.col("reach"))).alias("viral_coefficient"),
        ratio(pl.col("social_spend"), pl.col("engagements")).alias("cost_per_engagement"),
        ratio(pl.col("total_revenue") - pl.col("marketing_spend"), pl.col("marketing_spend")).alias("roi"),
        ratio(pl.col("automation_hours_saved"), pl.col("automation_hours_saved") + pl.col("feature_hours_spent"))
        .alias("time_efficiency_score"),
        (pl.col("automation_hours_saved") * HOURLY_RATE).alias("automation_value_saved"))


def test_business_metrics_equal_a_hand_computation_from_the_marts(built):
    env, _, _ = built
    got = env.query("select * from reporting.rpt_client_business_metrics")
    want = _hand_business_metrics(env)
    assert got.height == want.height == got["client_id"].n_unique()
    joined = want.join(got, on="client_id", suffix="_got")
    assert joined.height == want.height
    assert (joined["period_days"] == joined["period_days_got"]).all()
    assert (joined["period_start"] == joined["period_start_got"]).all()
    for col in ("total_revenue", "prior_revenue", "revenue_growth", "orders", "posts", "revenue_per_post",
                "conversion_revenue", "engagements", "engagement_rate", "engagement_growth", "viral_coefficient",
                "marketing_spend", "social_spend", "cost_per_engagement", "roi", "automation_hours_saved",
                "time_efficiency_score", "automation_value_saved", "predicted_revenue_next_period", "forecast_days"):
        a, b = joined[col].cast(pl.Float64), joined[f"{col}_got"].cast(pl.Float64)
        assert (a.is_null() == b.is_null()).all(), col
        both = joined.filter(a.is_not_null())
        diff = (both[col].cast(pl.Float64) - both[f"{col}_got"].cast(pl.Float64)).abs()
        assert (diff <= 1e-9 * (1 + both[col].cast(pl.Float64).abs())).all(), col
    assert joined["predicted_revenue_next_period"].null_count() < joined.height  # tiny has forecasts (7 days)
    assert (joined.filter(pl.col("predicted_revenue_next_period").is_not_null())["forecast_days"] == 7).all()


def test_business_metrics_are_null_where_a_denominator_is_zero_never_infinite(built):
    env, _, _ = built
    got = env.query("select * from reporting.rpt_client_business_metrics")
    floats = [c for c, t in got.schema.items() if t == pl.Float64]
    assert not any(got[c].is_infinite().any() or got[c].is_nan().any() for c in floats)
    for ratio_col, denominator in (("revenue_per_post", "posts"), ("engagement_rate", "impressions"),
                                   ("revenue_growth", "prior_revenue"), ("roi", "marketing_spend"),
                                   ("cost_per_engagement", "engagements"), ("viral_coefficient", "reach")):
        zero = got.filter(pl.col(denominator) == 0)
        assert zero.height > 0, f"tiny has no client with {denominator} = 0 to check"
        assert zero[ratio_col].null_count() == zero.height, ratio_col
        assert got.filter(pl.col(denominator) != 0)[ratio_col].null_count() == 0, ratio_col
    rule = (pl.when(pl.col("growth_signal").is_null()).then(None)
            .when((pl.col("churn_risk") >= 0.1).fill_null(False) | (pl.col("growth_signal") <= -0.1)).then(pl.lit("low"))
            .when(pl.col("growth_signal") >= 0.1).then(pl.lit("high")).otherwise(pl.lit("medium")))
    assert got.select((pl.col("growth_potential").eq_missing(rule)).all()).item()
