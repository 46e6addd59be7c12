"""The usage analytics against peer libraries (scipy, statsmodels) and hand computations."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from dagster_project.analytics import usage as us


def test_weekly_trend_matches_scipy_linregress_with_a_t_interval():
    g = np.random.default_rng(1)
    y = 10 + 0.7 * np.arange(12) + g.normal(0, 2, 12)
    df = pl.DataFrame({"k": "a", "week": np.arange(12), "y": y})
    row = us.weekly_trends(df, ["k"], "week", "y").row(0, named=True)
    ref = stats.linregress(np.arange(12), y)
    t = stats.t.ppf(0.975, 10)
    assert row["status"] == "ok"
    assert row["slope"] == pytest.approx(ref.slope, rel=1e-12)
    assert row["slope_se"] == pytest.approx(ref.stderr, rel=1e-10)
    assert row["slope_low"] == pytest.approx(ref.slope - t * ref.stderr, rel=1e-10)
    assert row["relative_slope"] == pytest.approx(ref.slope / y.mean(), rel=1e-12)


def test_weekly_trend_of_dates_counts_weeks_and_flags_short_or_flat_series():
    weeks = pl.date_range(dt.date(2025, 1, 6), dt.date(2025, 3, 3), "1w", eager=True)
    df = pl.concat([
        pl.DataFrame({"k": "dated", "week": weeks, "y": 2.0 * np.arange(len(weeks)) + 1}),
        pl.DataFrame({"k": "flat", "week": weeks, "y": np.full(len(weeks), 3.0)}),
        pl.DataFrame({"k": "short", "week": weeks[:3], "y": [1.0, 2.0, 4.0]}),
    ])
    out = {r["k"]: r for r in us.weekly_trends(df, ["k"], "week", "y").iter_rows(named=True)}
    assert out["dated"]["slope"] == pytest.approx(2.0) and out["dated"]["status"] == "ok"
    assert out["flat"]["status"] == "no_variation" and out["flat"]["slope"] is None
    assert out["short"]["status"] == "too_few_weeks" and out["short"]["slope_low"] is None
    with pytest.raises(ValueError, match="min_weeks"):
        us.weekly_trends(df, ["k"], "week", "y", min_weeks=2)


def _panel(seed=0, clients=40, per=15):
    g = np.random.default_rng(seed)
    c = np.repeat(np.arange(clients), per)
    week = np.tile(np.arange(per), clients)
    x1 = g.normal(size=c.size) + 0.3 * c / clients
    x2 = (g.random(c.size) < 0.4).astype(float)
    a = g.normal(0, 3, clients)[c]
    y = a + 1.5 * x1 - 0.8 * x2 + 0.2 * week + g.normal(0, 1 + 0.5 * x2, c.size)
    return c, week, x1, x2, y


def test_within_estimator_matches_statsmodels_dummies_with_clustered_errors():
    c, _week, x1, x2, y = _panel()
    fit = us.fit_within(y, np.column_stack([x1, x2]), c, ["x1", "x2"])
    D = (c[:, None] == np.arange(c.max() + 1)[None, :]).astype(float)
    ref = sm.OLS(y, np.column_stack([x1, x2, D])).fit(cov_type="cluster", cov_kwds={"groups": c})
    n, G, k_sm = len(y), c.max() + 1, 2 + D.shape[1]
    # statsmodels counts the client dummies in K; Stata's xtreg fe (and we) count the regressors
    rescale = np.sqrt(((n - 1) / (n - 2)) / ((n - 1) / (n - k_sm)))
    assert fit.estimate == pytest.approx(ref.params[:2], rel=1e-9)
    assert fit.std_error == pytest.approx(ref.bse[:2] * rescale, rel=1e-9)
    t = stats.t.ppf(0.975, G - 1)
    assert fit.ci_low == pytest.approx(fit.estimate - t * fit.std_error)


def test_two_way_fixed_effects_by_demeaned_dummies_equal_the_full_dummy_regression():
    c, week, x1, x2, y = _panel(2)
    keep = np.random.default_rng(3).random(len(y)) < 0.8  # unbalanced
    c, week, x1, x2, y = c[keep], week[keep], x1[keep], x2[keep], y[keep]
    from dagster_project.analytics.usage.fixed_effects import dummies
    W, names = dummies(week, "week")
    fit = us.fit_within(y, np.column_stack([x1, x2, W]), c, ["x1", "x2", *names])
    D = (c[:, None] == np.unique(c)[None, :]).astype(float)
    ref = sm.OLS(y, np.column_stack([x1, x2, W, D])).fit()
    assert fit.estimate[:2] == pytest.approx(ref.params[:2], rel=1e-8)
    # the weeks as partialled-out controls (Frisch-Waugh-Lovell): the same block, same errors
    fwl = us.fit_within(y, np.column_stack([x1, x2]), c, ["x1", "x2"], controls=W)
    assert fwl.estimate == pytest.approx(fit.estimate[:2], rel=1e-9)
    assert fwl.std_error == pytest.approx(fit.std_error[:2], rel=1e-9)


def test_within_estimator_drops_a_regressor_constant_within_every_client():
    c, _, x1, _, y = _panel()
    constant_within = c.astype(float)
    fit = us.fit_within(y, np.column_stack([x1, constant_within]), c, ["x1", "client_level"])
    assert fit.names == ["x1"] and fit.dropped == ["client_level"]


def test_content_flag_effects_recover_a_planted_multiplicative_lift():
    g = np.random.default_rng(5)
    n = 20_000
    client = g.integers(0, 200, n)
    platform = np.array(["instagram", "tiktok"])[g.integers(0, 2, n)]
    hour = g.integers(0, 24, n)
    viral = g.random(n) < 0.5
    automated = g.random(n) < 0.4
    level = np.exp(g.normal(6, 0.5, 200))[client] * np.where(platform == "tiktok", 1.8, 1.0)
    impressions = g.poisson(level * 1.35 ** viral * np.exp(g.normal(0, 0.9, n)))
    posts = pl.DataFrame({"client_id": client.astype(str), "platform": platform, "content_type": "video",
                          "publish_hour": hour, "viral_optimized": viral, "automated": automated,
                          "impressions": impressions, "engagements": g.binomial(impressions, 0.04)})
    out = us.content_flag_effects(posts)
    row = out.filter((pl.col("feature") == "viral_optimized") & (pl.col("outcome") == "impressions_per_post")).row(
        0, named=True)
    assert row["status"] == "ok" and row["lift_low"] <= 0.35 <= row["lift_high"]
    auto = out.filter((pl.col("feature") == "automated") & (pl.col("outcome") == "impressions_per_post")).row(
        0, named=True)
    assert auto["lift_low"] <= 0 <= auto["lift_high"]


def _step_panel(seed: int, clients: int = 60, weeks: int = 20, step: float = 25.0):
    g = np.random.default_rng(seed)
    week_start = pl.date_range(dt.date(2025, 1, 6), dt.date(2025, 1, 6) + dt.timedelta(weeks=weeks - 1), "1w",
                               eager=True).to_numpy()
    adopt_week = g.integers(3, 17, clients)
    c = np.repeat(np.arange(clients), weeks)
    w = np.tile(np.arange(weeks), clients)
    revenue = 100 + g.normal(0, 20, clients)[c] + 2 * w + step * (w >= adopt_week[c]) + g.normal(0, 10, c.size)
    panel = pl.DataFrame({"client_id": c.astype(str), "week_start": week_start[w], "revenue": revenue})
    adoption = pl.DataFrame({"client_id": np.arange(clients).astype(str), "feature_name": "scheduler",
                             "first_used_at": pl.Series(week_start[adopt_week]).cast(pl.Datetime("us"))})
    return panel, adoption


def test_adoption_revenue_effect_recovers_a_planted_step_with_about_nominal_coverage():
    # 40 panels with a +25 step at adoption, a common trend and client levels: the two-way
    # estimate is unbiased and its 95% interval covers 25 in about 95% of them (clustered errors
    # with 60 clients run a little narrow: 92 of 100 seeds measured); P(Binomial(40, 0.92) < 33) < 0.02
    rows = [us.adoption_revenue_effects(*_step_panel(seed)).row(0, named=True) for seed in range(40)]
    assert all(r["status"] == "ok" for r in rows)
    assert np.mean([r["estimate"] for r in rows]) == pytest.approx(25, abs=0.6)  # sd of the mean ~0.18
    assert sum(r["ci_low"] <= 25 <= r["ci_high"] for r in rows) >= 33


def test_adoption_revenue_effect_needs_switching_clients():
    panel, adoption = _step_panel(0)
    few = us.adoption_revenue_effects(panel, adoption.head(5)).row(0, named=True)
    assert few["status"] == "too_few_clients" and few["estimate"] is None and few["lift"] is None


def test_adoption_curve_is_kaplan_meier_with_greenwood_intervals_as_statsmodels():
    g = np.random.default_rng(4)
    n = 300
    signup = dt.datetime(2025, 1, 1)
    days_to_use = np.floor(g.exponential(20, n))
    watched = np.floor(g.uniform(5, 90, n))
    used = days_to_use <= watched
    clients = pl.DataFrame({"client_id": [f"c{i}" for i in range(n)],
                            "signup_at": [signup + dt.timedelta(days=float(90 - w)) for w in watched]})
    as_of = signup + dt.timedelta(days=90)
    adoption = clients.filter(pl.Series(used)).with_columns(
        (pl.col("signup_at") + pl.duration(days=pl.Series(days_to_use[used]))).alias("first_used_at")).select(
        "client_id", pl.lit("scheduler").alias("feature_name"), "first_used_at")
    curve = us.adoption_curves(clients, adoption, as_of, step_days=1)
    ref = SurvfuncRight(np.where(used, days_to_use, watched), used.astype(int))
    for d in (3, 10, 30, 60):
        row = curve.filter(pl.col("day") == d).row(0, named=True)
        idx = np.searchsorted(ref.surv_times, d, side="right") - 1
        assert row["adopted_share"] == pytest.approx(1 - ref.surv_prob[idx], rel=1e-12)
        assert row["adopted_high"] - row["adopted_share"] == pytest.approx(1.96 * ref.surv_prob_se[idx], rel=1e-3)


def test_adoption_by_tier_gives_wilson_intervals_as_statsmodels_and_a_status_for_empty_tiers():
    df = pl.DataFrame({"tier": ["starter", "business", "enterprise"], "feature_name": "scheduler",
                       "active_clients": [40, 7, 0], "adopting_clients": [13, 7, 0]})
    out = {r["tier"]: r for r in us.adoption_by_tier(df).iter_rows(named=True)}
    for tier, k, n in (("starter", 13, 40), ("business", 7, 7)):
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert (out[tier]["adoption_low"], out[tier]["adoption_high"]) == pytest.approx((lo, hi), rel=1e-6)
    assert out["enterprise"]["status"] == "no_clients" and out["enterprise"]["adoption_rate"] is None


def test_platform_correlation_is_pearson_of_client_demeaned_series_with_fisher_interval():
    g = np.random.default_rng(6)
    rows = []
    for c in range(30):
        base = g.normal(0, 50)
        shared = g.normal(size=12)
        for w in range(12):
            rows.append({"client_id": f"c{c}", "week_start": w, "platform": "instagram",
                         "engagements": base + 10 * shared[w] + g.normal(0, 5), "revenue": g.normal()})
            rows.append({"client_id": f"c{c}", "week_start": w, "platform": "tiktok",
                         "engagements": 3 * base + 5 * shared[w] + g.normal(0, 5), "revenue": g.normal()})
    panel = pl.DataFrame(rows)
    out = us.platform_correlations(panel)
    row = out.filter((pl.col("metric_x") == "engagements") & (pl.col("platform_x") == "instagram")
                     & (pl.col("metric_y") == "engagements") & (pl.col("platform_y") == "tiktok")).row(0, named=True)
    wide = panel.pivot(on="platform", index=["client_id", "week_start"], values="engagements")
    dm = wide.with_columns([(pl.col(p) - pl.col(p).mean().over("client_id")).alias(p) for p in ("instagram", "tiktok")])
    r, _ = stats.pearsonr(dm["instagram"], dm["tiktok"])
    half = 1.96 / np.sqrt(360 - 30 - 3)
    assert row["correlation"] == pytest.approx(r, rel=1e-10)
    assert row["ci_low"] == pytest.approx(np.tanh(np.arctanh(r) - stats.norm.ppf(0.975) / np.sqrt(327)), rel=1e-9)
    assert half > 0 and out.height == 6  # 4 series, each pair once


def test_frequency_curve_finds_a_planted_optimum_and_refuses_one_without_diminishing_returns():
    g = np.random.default_rng(9)
    clients, weeks = 80, 20
    c = np.repeat(np.arange(clients), weeks)
    n = g.integers(0, 21, c.size)
    level = g.normal(100, 30, clients)[c]
    def frame(y):
        return pl.DataFrame({"client_id": c.astype(str), "platform": "tiktok", "week_start": np.tile(
            np.arange(weeks), clients), "posts": n, "engagements": y})
    concave = us.frequency_curves(frame(level + 40 * n - 2 * n**2 + g.normal(0, 20, c.size)),
                                  us.FrequencySettings()).row(0, named=True)
    assert concave["status"] == "ok"
    assert concave["optimal_low"] <= 10 <= concave["optimal_high"]  # vertex of 40 n - 2 n^2
    linear = us.frequency_curves(frame(level + 30 * n + g.normal(0, 20, c.size)),
                                 us.FrequencySettings()).row(0, named=True)
    assert linear["status"] == "no_interior_optimum" and linear["optimal_posts_per_week"] is None
    assert linear["fit_status"] == "ok" and linear["beta"] is not None  # the evidence stays


def test_slot_effects_shrink_the_clients_own_hours_towards_the_pool_by_hand():
    # pool: client B posts 30 times at hour 9 and 30 at hour 10; client A 4 + 20 posts
    rows = ([("B", 9, 100)] * 30 + [("B", 10, 400)] * 30 + [("A", 9, 50)] * 4 + [("A", 10, 150)] * 20)
    posts = pl.DataFrame(rows, schema=["client_id", "publish_hour", "engagements"], orient="row").with_columns(
        pl.lit("tiktok").alias("platform"), pl.lit("video").alias("content_type"),
        (pl.col("engagements") * 20).alias("impressions"))
    res = us.slot_recommendations(posts, us.SlotSettings("publish_hour", min_posts=20, prior_posts=10))
    y = np.log1p
    # residuals: B: +-(y(400) - y(100)) / 2; A: hour 9: y(50) - mean_A, hour 10: y(150) - mean_A
    mean_a = (4 * y(50) + 20 * y(150)) / 24
    rb = (y(400) - y(100)) / 2
    pooled_10 = (30 * rb + 20 * (y(150) - mean_a)) / 50
    own_10 = y(150) - mean_a
    shrunk = (20 * own_10 + 10 * pooled_10) / 30
    got = res.recommended.filter(pl.col("client_id") == "A").row(0, named=True)
    assert got["publish_hour"] == 10 and got["lift"] == pytest.approx(np.expm1(shrunk), rel=1e-10)
    summary = {r["client_id"]: r for r in res.summary.iter_rows(named=True)}
    assert summary["A"]["slots"] == "10" and summary["A"]["status"] == "ok"
    thin = us.slot_recommendations(posts, us.SlotSettings("publish_hour", min_posts=25))
    assert {r["client_id"]: r["status"] for r in thin.summary.iter_rows(named=True)}["A"] == "too_few_posts"


def test_automation_savings_price_hours_at_the_hourly_rate():
    df = pl.DataFrame({"client_id": ["a", "a", "a"], "feature_name": ["scheduler", "scheduler", "ai_image"],
                       "platform": ["tiktok", "tiktok", "(none)"], "uses": [2, 3, 1],
                       "time_saved_minutes": [30.0, 60.0, 30.0]})
    out = us.automation_savings(df, 40.0)
    sched = out.filter(pl.col("feature_name") == "scheduler").row(0, named=True)
    assert sched["uses"] == 5 and sched["hours_saved"] == 1.5 and sched["value_saved"] == 60.0
    assert sched["share_of_client_hours"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="hourly_rate"):
        us.automation_savings(df, 0)


def test_platform_summary_claims_a_separated_top_platform_only_when_intervals_do_not_overlap():
    panel = pl.DataFrame({"client_id": ["a"] * 3 + ["b"] * 2, "platform": ["instagram", "tiktok", "twitter",
                                                                           "instagram", "tiktok"],
                          "week_start": [dt.date(2025, 1, 6)] * 5, "posts": [1] * 5,
                          "impressions": [100, 0, 50, 10, 10], "engagements": [5, 0, 1, 1, 1], "revenue": 0.0})
    totals = pl.DataFrame({"client_id": ["a", "a", "a", "b", "b"],
                           "platform": ["instagram", "tiktok", "twitter", "instagram", "tiktok"],
                           "attribution_model": "shapley", "attributed_revenue": [500.0, 100.0, 50.0, 300.0, 280.0],
                           "revenue_lower": [400.0, 50.0, 20.0, 200.0, 210.0],
                           "revenue_upper": [600.0, 150.0, 90.0, 400.0, 350.0]})
    out = {(r["client_id"], r["platform"]): r for r in us.platform_summary(panel, totals).iter_rows(named=True)}
    assert out[("a", "instagram")]["top_platform_separated"] is True
    assert out[("a", "instagram")]["revenue_share"] == pytest.approx(500 / 650)
    assert out[("b", "instagram")]["is_top_revenue_platform"] and not out[("b", "instagram")]["top_platform_separated"]
    assert out[("a", "tiktok")]["status"] == "no_impressions" and out[("a", "tiktok")]["engagement_rate"] is None


def test_weekly_revenue_takes_its_time_profile_from_the_rule_model_and_its_level_from_the_recommended():
    rule = pl.DataFrame({"client_id": "a", "platform": "instagram", "week_start": [dt.date(2025, 1, 6),
                                                                                  dt.date(2025, 1, 13)],
                         "revenue": [30.0, 10.0]})
    totals = pl.DataFrame({"client_id": ["a"], "platform": ["instagram"], "attributed_revenue": [100.0]})
    out = us.scaled_weekly_revenue(rule, totals).sort("week_start")
    assert out["revenue"].to_list() == pytest.approx([75.0, 25.0])


def test_full_weeks_keep_only_mondays_of_whole_weeks_inside_the_data():
    weeks = us.full_weeks(dt.date(2025, 1, 1), dt.date(2025, 1, 26))  # Wed .. Sun
    assert weeks.to_list() == [dt.date(2025, 1, 6), dt.date(2025, 1, 13), dt.date(2025, 1, 20)]
