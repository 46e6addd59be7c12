"""Recommendation rules per branch, the confidence and risk rules, the reasoning's numbers,
competitive position, guardrails validation, the demand model's baseline and the churn model's
price effect, each against a hand computation or a peer library (scipy)."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy.special import expit, logit

from dagster_project.analytics import pricing as pr
from dagster_project.analytics.pricing.demand import DemandSettings, demand_model
from dagster_project.defs.pricing.checks import guardrail_breaches

G = pr.load_guardrails()
AS_OF = dt.date(2025, 6, 29)


def _base(tier="professional", e=-0.3, se=0.05, price=79.0, signups=100.0, discount=0.0,
          churn=(0.9, 0.7, 1.1), r0=0.04):
    z = stats.norm.ppf(0.975)
    lo, hi = e - z * se, e + z * se
    cls = "elastic" if hi < -1 else "inelastic" if lo > -1 else "undetermined"
    return pl.DataFrame({
        "tier": [tier], "elasticity": [e], "elasticity_std_error": [se],
        "elasticity_ci_lower": [lo], "elasticity_ci_upper": [hi], "classification": [cls],
        "elasticity_status": ["ok"], "elasticity_message": ["x"], "current_price": [price],
        "expected_signups_current": [signups], "avg_discount_pct": [discount],
        "horizon_weeks": [12], "churn_baseline_risk": [r0], "churn_slope": [churn[0]],
        "churn_slope_lower": [churn[1]], "churn_slope_upper": [churn[2]], "status": ["ok"]},
        schema_overrides={"churn_slope": pl.Float64, "churn_slope_lower": pl.Float64,
                          "churn_slope_upper": pl.Float64, "churn_baseline_risk": pl.Float64})


def _position(tier="professional", median=80.0, cls="inelastic"):
    return pr.competitive_position(
        pl.DataFrame({"tier": [tier], "list_price": [79.0]}),
        pl.DataFrame({"week_start": [dt.date(2025, 6, 23)] * 3, "competitor": ["a", "b", "c"],
                      "plan_name": ["x", "y", "z"], "comparable_tier": [tier] * 3,
                      "monthly_price": [median - 10, median, median + 30]}),
        pl.DataFrame({"tier": [tier], "classification": [cls]}), G)


def _recommend(**kw):
    median = kw.pop("median", 80.0)
    base = _base(**kw)
    return pr.recommend(base, _position(base["tier"][0], median, base["classification"][0]),
                        G, AS_OF).row(0, named=True)


def test_inelastic_tier_at_minus_0_3_gets_a_price_increase_by_the_maximum_step():
    r = _recommend(e=-0.3)
    assert r["action"] == "increase" and r["classification"] == "inelastic"
    assert r["suggested_price"] == pytest.approx(round(79.0 * 1.10, 2))
    assert r["capped_by"] == "the maximum step"
    # revenue by hand: 100 sign-ups x 79 x (1.1^(1 - 0.3) - 1)
    ratio = r["suggested_price"] / 79.0
    assert r["expected_revenue_change"] == pytest.approx(100 * 79 * (ratio ** 0.7 - 1))
    assert r["revenue_change_ci_lower"] > 0  # the interval lies above -1
    assert r["confidence"] == pytest.approx(stats.norm.cdf((-0.3 + 1) / 0.05))


def test_elastic_tier_at_minus_1_2_gets_value_optimization_not_a_cut():
    r = _recommend(e=-1.2)
    assert r["action"] == "value_optimization" and r["classification"] == "elastic"
    assert r["suggested_price"] == r["current_price"] == 79.0
    assert "annual" in r["suggestion"] and "packaging" in r["suggestion"]
    assert r["expected_revenue_change"] == 0 and r["risk_level"] == "low"
    assert r["confidence"] == pytest.approx(stats.norm.cdf((-1 + 1.2) / 0.05))


def test_undetermined_tier_is_held_with_the_more_likely_side_as_confidence():
    r = _recommend(e=-0.9, se=0.3)
    p = stats.norm.cdf((-0.9 + 1) / 0.3)
    assert r["action"] == "hold" and r["confidence"] == pytest.approx(max(p, 1 - p))


def test_demand_rising_with_price_is_held_not_taken_as_pricing_power():
    r = _recommend(e=1.5, se=0.3)
    assert r["action"] == "hold"
    assert r["confidence"] == pytest.approx(stats.norm.cdf(-1.5 / 0.3))
    assert "rose with the price" in r["reasoning"]


def test_increase_stops_at_the_recommended_positions_upper_index():
    r = _recommend(e=-0.3, median=66.0)  # premium cap 1.25 x 66 = 82.5 < 79 x 1.1
    assert r["suggested_price"] == pytest.approx(82.5)
    assert r["capped_by"] == "the premium_provider position's upper index"


def test_a_tier_at_its_positions_ceiling_is_held():
    r = _recommend(e=-0.3, median=63.5)  # 1.25 x 63.5 = 79.4: less than a 1% step
    assert r["action"] == "hold"


def test_a_price_below_its_floor_is_raised_towards_it_whatever_the_elasticity():
    r = _recommend(tier="business", e=-0.95, se=0.3, price=120.0)
    assert r["action"] == "increase" and r["suggested_price"] == pytest.approx(129.0)
    assert r["capped_by"] == "the floor"


def test_no_elasticity_gives_a_hold_without_numbers():
    base = _base().with_columns(status=pl.lit("no_elasticity"),
                                elasticity_message=pl.lit("observational: too_few_weeks"))
    r = pr.recommend(base, _position(), G, AS_OF).row(0, named=True)
    assert r["action"] == "hold" and r["suggested_price"] is None and r["confidence"] is None
    assert "too_few_weeks" in r["reasoning"]


@pytest.mark.parametrize(("churn", "expected"), [
    ((0.01, 0.0, 0.02), "medium"),  # the 10% step exceeds medium_price_change
    ((5.0, 4.0, 6.0), "high"),  # +10% at slope 5: 0.04 -> expit(logit(0.04) + 5 log 1.1)
    ((None, None, None), "high")])  # churn effect unknown
def test_risk_level_follows_the_guardrails_risk_rules(churn, expected):
    r = _recommend(e=-0.3, churn=churn)
    assert r["risk_level"] == expected
    if churn[0] is not None:
        ratio = r["suggested_price"] / 79.0
        change = expit(logit(0.04) + churn[0] * math.log(ratio)) - 0.04
        assert r["churn_risk_change"] == pytest.approx(change)


def test_small_increase_with_little_churn_is_low_risk():
    r = _recommend(e=-0.3, median=64.0, churn=(0.2, 0.1, 0.3))  # cap 80.0: +1.3%
    assert r["action"] == "increase" and r["risk_level"] == "low"


def _numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+(?:\.\d+)?", text.replace("30-day", "").replace("95%", ""))


@pytest.mark.parametrize("e", [-0.3, -1.2, -0.9])
def test_every_number_in_the_reasoning_is_a_value_of_the_row(e):
    r = _recommend(e=e, se=0.05 if e != -0.9 else 0.3)
    values = [v for v in r.values() if isinstance(v, int | float) and v is not None]
    for token in _numbers(r["reasoning"]):
        digits = len(token.split(".")[1]) if "." in token else 0
        found = any(round(v * scale, digits) == float(token) for v in values
                    for scale in (1, 100))
        assert found, (token, r["reasoning"])


def test_recommendation_id_is_the_same_for_the_same_change_and_differs_otherwise():
    a = pr.recommendation_id("starter", "increase", 29.0, 31.9)
    assert a == pr.recommendation_id("starter", "increase", 29.000001, 31.9)
    assert a != pr.recommendation_id("starter", "increase", 29.0, 31.0)


def test_an_increase_is_rounded_down_to_the_cent_so_it_stays_inside_the_step():
    base = _base(tier="starter", e=-0.3, price=29.99)
    recs = pr.recommend(base, _position("starter", 40.0, "inelastic"), G, AS_OF)
    # 29.99 x 1.10 = 32.989: 32.99 would be a 10.003% step, past the 10% maximum
    assert recs["suggested_price"][0] == 32.98
    assert guardrail_breaches(recs, G.max_change_per_step).height == 0


def test_guardrail_check_flags_a_step_too_large_a_cut_and_a_price_below_the_floor():
    recs = pl.DataFrame({
        "tier": ["starter", "starter", "business", "professional"],
        "status": ["ok"] * 4, "action": ["increase", "increase", "increase", "increase"],
        "current_price": [29.0, 29.0, 150.0, 79.0], "suggested_price": [35.0, 28.0, 120.0, 86.9],
        "price_floor": [G.price_floors[t] for t in ("starter", "starter", "business",
                                                      "professional")],
        "target_index_high": [None, None, None, 1.25],
        "competitor_median_price": [None, None, None, 80.0]})
    bad = guardrail_breaches(recs, G.max_change_per_step)
    assert bad["suggested_price"].to_list() == [35.0, 28.0, 120.0]


def test_position_index_is_the_price_over_the_competitor_median_and_the_band_it_falls_in():
    pos = _position(median=70.0, cls="elastic").row(0, named=True)
    assert pos["price_index"] == pytest.approx(79 / 70)
    assert pos["current_position"] == "premium_provider"  # 1.129 > 1.03
    assert pos["recommended_position"] == "value_leader"
    assert (pos["target_index_low"], pos["target_index_high"]) == (0.80, 0.97)
    none = pr.competitive_position(pl.DataFrame({"tier": ["starter"], "list_price": [29.0]}),
                                   pl.DataFrame(schema={"week_start": pl.Date, "competitor": pl.String,
                                                        "plan_name": pl.String,
                                                        "comparable_tier": pl.String,
                                                        "monthly_price": pl.Float64}),
                                   pl.DataFrame({"tier": ["starter"], "classification": [None]},
                                                schema={"tier": pl.String,
                                                        "classification": pl.String}), G)
    row = none.row(0, named=True)
    assert row["status"] == "no_competitors" and row["price_index"] is None
    assert row["recommended_position"] == "competitive_parity"


@pytest.mark.parametrize(("text", "message"), [
    ("max_change_per_step: 2\n", "max_change_per_step"),
    (("max_change_per_step: 0.1\nmin_change: 0.01\nprice_floors: {}\npositions: {value_leader: "
      "{index: [1, 0.9]}, competitive_parity: {index: [1, 1]}, premium_provider: {index: [1, 2]}}\n"),
     "positions.value_leader.index"),
])
def test_guardrails_file_errors_name_the_key(tmp_path, text, message):
    path = tmp_path / "g.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        pr.load_guardrails(path)


def _demand_cells(weeks: int, seed: int = 0) -> pl.DataFrame:
    g = np.random.default_rng(seed)
    start = dt.date(2024, 1, 1)
    rows = []
    for w in range(weeks):
        day = start + dt.timedelta(weeks=w)
        season = 1 + 0.3 * math.cos(2 * math.pi * w / 52)
        for tier, rate in (("starter", 30.0), ("business", 8.0)):
            rows.append({"week_start": day, "tier": tier, "offer": "list", "list_price": 29.0,
                         "shown_price": 29.0, "exposure": 7.0,
                         "signups": int(g.poisson(rate * season)), "avg_discount_pct": 0.0,
                         "marketing_spend_per_day": 100.0, "price_experiment_id": None})
    return pl.DataFrame(rows, schema_overrides={"price_experiment_id": pl.String})


def test_seasonal_naive_baseline_is_last_years_same_week_when_a_year_is_there():
    cells = _demand_cells(70)
    res = demand_model(cells, 4, DemandSettings(holdout_weeks=8))
    assert res.baseline == "seasonal_naive_52"
    hold = res.holdout.filter(pl.col("tier") == "starter").sort("week_start")
    past = cells.filter(pl.col("tier") == "starter").sort("week_start")["signups"].to_list()
    assert hold["baseline"].to_list() == [float(v) for v in past[62 - 52:70 - 52]]
    mae = (hold["baseline"] - hold["signups"]).abs().mean()
    got = res.evaluation.filter(pl.col("tier") == "starter")["baseline_mae"][0]
    assert got == pytest.approx(mae)


def test_short_history_falls_back_to_the_naive_baseline_and_forecasts_the_horizon():
    res = demand_model(_demand_cells(30), 6)
    assert res.baseline == "naive_last_week"
    assert res.forecast.group_by("tier").len()["len"].to_list() == [6, 6]
    assert (res.forecast["expected_signups"] > 0).all()


def test_too_short_a_history_for_a_holdout_gets_the_no_holdout_status():
    res = demand_model(_demand_cells(10), 4)
    assert set(res.evaluation["status"]) == {"no_holdout"}
    assert res.evaluation["model_mae"].null_count() == res.evaluation.height


def test_churn_price_effect_recovers_a_planted_slope_of_the_scores():
    g = np.random.default_rng(2)
    n = 3000
    x = g.choice([0.0, 0.1, 0.18], n)
    days = g.integers(1, 300, n)
    risk = expit(-3 + 0.9 * x + 0.1 * np.log1p(days) + 0.05 * g.normal(size=n))
    scores = pl.DataFrame({"client_id": [f"c{i}" for i in range(n)], "snapshot_date": [AS_OF] * n,
                           "tier": g.choice(["starter", "business"], n), "churn_risk": risk,
                           "status": ["ok"] * n, "signup_price_vs_launch": x,
                           "days_since_signup": days})
    eff = pr.churn_price_effect(scores)
    assert eff.slope == pytest.approx(0.9, abs=3 * eff.slope_std_error)
    assert eff.slope_std_error < 0.05


def test_churn_effect_without_scores_carries_the_churn_models_status():
    scores = pl.DataFrame({"client_id": ["a"], "snapshot_date": [AS_OF], "tier": ["starter"],
                           "churn_risk": [None], "status": ["insufficient_history"],
                           "signup_price_vs_launch": [0.0], "days_since_signup": [10]},
                          schema_overrides={"churn_risk": pl.Float64})
    eff = pr.churn_price_effect(scores)
    assert eff.slope is None and eff.status == "insufficient_history"
    assert eff.frame().height == 0
