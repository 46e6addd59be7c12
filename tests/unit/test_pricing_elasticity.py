"""Elasticity estimators against peer libraries, hand computations and planted truth.

- The Poisson regression (analytics/pricing/poisson.py) against statsmodels' GLM (coefficients
  and HC0 errors) and HC3 against the exact jackknife (leave-one-out refits), its large-sample
  twin (MacKinnon & White 1985).
- The experiment estimate against the closed form of a two-arm comparison.
- The precision-weighted combination and the classification by hand.
- Coverage of the observational 95% intervals on data drawn from a planted log-log demand.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from dagster_project.analytics.pricing import elasticity as el
from dagster_project.analytics.pricing.dml import DmlSettings, dml_elasticities, partialling_out
from dagster_project.analytics.pricing.poisson import fit_poisson

spec = importlib.util.spec_from_file_location(
    "pricing_frames", Path(__file__).parents[1] / "pricing_frames.py")
frames = importlib.util.module_from_spec(spec)
spec.loader.exec_module(frames)


def _design(n=200, seed=1):
    g = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), g.normal(size=n), g.uniform(-1, 1, n)])
    exposure = g.uniform(1, 7, n)
    y = g.poisson(exposure * np.exp(X @ np.array([0.5, -0.8, 0.3])))
    return y, X, exposure


def test_poisson_fit_matches_statsmodels_glm_coefficients_and_hc0_errors():
    y, X, exposure = _design()
    ours = fit_poisson(y, X, exposure, hc_type="HC0")
    ref = sm.GLM(y, X, family=sm.families.Poisson(), exposure=exposure).fit(cov_type="HC0")
    assert ours.converged
    np.testing.assert_allclose(ours.beta, ref.params, rtol=1e-8)
    np.testing.assert_allclose(ours.std_error, ref.bse, rtol=1e-6)
    model = sm.GLM(y, X, family=sm.families.Poisson(), exposure=exposure).fit()
    np.testing.assert_allclose(np.sqrt(np.diag(ours.model_cov)), model.bse, rtol=1e-6)


def test_hc1_scales_hc0_by_n_over_n_minus_k():
    y, X, exposure = _design()
    hc0 = fit_poisson(y, X, exposure, hc_type="HC0")
    hc1 = fit_poisson(y, X, exposure, hc_type="HC1")
    n, k = X.shape
    np.testing.assert_allclose(hc1.cov, hc0.cov * n / (n - k), rtol=1e-12)


def test_hc3_is_close_to_the_exact_jackknife_variance():
    y, X, exposure = _design(n=80, seed=3)
    hc3 = fit_poisson(y, X, exposure, hc_type="HC3")
    loo = np.array([fit_poisson(np.delete(y, i), np.delete(X, i, axis=0),
                                np.delete(exposure, i)).beta for i in range(len(y))])
    n = len(y)
    jack = (n - 1) / n * ((loo - loo.mean(axis=0)) ** 2).sum(axis=0)
    # HC3 is the one-step (linearised) jackknife: within 10% here, where HC0 is 10-20% smaller
    np.testing.assert_allclose(np.diag(hc3.cov), jack, rtol=0.10)


def test_fit_refuses_impossible_arguments_and_reports_rank_deficiency():
    y, X, exposure = _design(n=20)
    with pytest.raises(ValueError, match="exposure"):
        fit_poisson(y, X, -exposure)
    with pytest.raises(ValueError, match="hc_type"):
        fit_poisson(y, X, exposure, hc_type="HC9")
    collinear = np.column_stack([X, X[:, 1] * 2])
    assert not fit_poisson(y, collinear, exposure).converged


def test_experiment_estimate_equals_the_two_arm_closed_form():
    # same exposure and price ratio in both weeks: the conditional MLE pools the counts
    cells = frames.arm_cells("starter", [(20, 14), (16, 12)])
    got = el.estimate_elasticities(cells).table.filter(pl.col("method") == "experiment").row(
        0, named=True)
    expected = np.log((26 / 7.0) / (36 / 7.0)) / np.log(36 / 30)
    assert got["status"] == "ok"
    assert got["estimate"] == pytest.approx(expected, rel=1e-8)


def test_one_week_experiment_has_no_residual_degrees_of_freedom_and_no_estimate():
    cells = frames.arm_cells("starter", [(20, 14)])
    got = el.estimate_elasticities(cells).table.filter(pl.col("method") == "experiment")
    assert got["status"][0] == "not_converged" and got["estimate"][0] is None


def test_experiment_arm_without_signups_gets_a_status_not_an_infinite_estimate():
    got = el.estimate_elasticities(frames.arm_cells("starter", [(5, 0), (4, 0)])).table
    row = got.filter(pl.col("method") == "experiment").row(0, named=True)
    assert row["status"] == "no_signups" and "e1:high" in row["status_message"]
    assert row["estimate"] is None and row["ci_lower"] is None


def test_combined_estimate_is_the_precision_weighted_mean():
    obs = frames.weekly_cells({"starter": -0.6}, seed=4)
    exp = frames.arm_cells("starter", [(30, 22), (28, 25), (33, 20)])
    t = el.estimate_elasticities(pl.concat([obs, exp], how="diagonal_relaxed")).table
    o, e, c = (t.filter(pl.col("method") == m).row(0, named=True)
               for m in ("observational", "experiment", "combined"))
    w = (1 / o["std_error"] ** 2) / (1 / o["std_error"] ** 2 + 1 / e["std_error"] ** 2)
    assert c["estimate"] == pytest.approx(w * o["estimate"] + (1 - w) * e["estimate"], rel=1e-12)
    assert c["std_error"] == pytest.approx((o["std_error"] ** -2 + e["std_error"] ** -2) ** -0.5)
    assert o["weight_in_combined"] == pytest.approx(w)
    assert e["weight_in_combined"] == pytest.approx(1 - w)
    z = stats.norm.ppf(0.975)
    assert c["ci_lower"] == pytest.approx(c["estimate"] - z * c["std_error"])


@pytest.mark.parametrize(("lower", "upper", "expected"), [
    (-2.0, -1.1, "elastic"), (-0.9, 0.2, "inelastic"), (-1.5, -0.5, "undetermined"),
    (-1.0, -0.5, "undetermined"), (None, None, None)])
def test_classification_needs_the_interval_to_exclude_minus_one(lower, upper, expected):
    df = pl.DataFrame({"lo": [lower], "hi": [upper]}, schema={"lo": pl.Float64, "hi": pl.Float64})
    assert df.select(el.classify(pl.col("lo"), pl.col("hi")))[0, 0] == expected


def test_too_few_weeks_and_no_price_variation_get_statuses_and_null_values():
    short = frames.weekly_cells({"business": -0.8}, weeks=6, change_weeks=(3, 5))
    flat = frames.weekly_cells({"starter": -0.8}, change_weeks=(99, 99))
    t = el.estimate_elasticities(pl.concat([short, flat])).table.filter(
        pl.col("method") == "observational")
    rows = {r["tier"]: r for r in t.iter_rows(named=True)}
    assert rows["business"]["status"] == "too_few_weeks"
    assert "6 week(s)" in rows["business"]["status_message"]
    assert rows["starter"]["status"] == "no_price_variation"
    assert all(r["estimate"] is None and r["classification"] is None for r in rows.values())


def test_observational_estimate_recovers_planted_elasticities_from_expected_counts():
    truth = {"starter": -1.6, "professional": -1.2, "business": -0.8, "enterprise": -0.5}
    cells = frames.weekly_cells(truth, expected=True)
    t = el.estimate_elasticities(cells).table.filter(pl.col("method") == "observational")
    for tier, e in truth.items():  # log(1 + 0.25 cos) is nearly two Fourier pairs
        assert t.filter(pl.col("tier") == tier)["estimate"][0] == pytest.approx(e, abs=0.01)


def test_observational_intervals_cover_the_planted_elasticity_at_their_level():
    truth = {"starter": -1.6, "business": -0.8}
    inside, total = 0, 0
    for seed in range(150):
        t = el.estimate_elasticities(frames.weekly_cells(truth, seed=seed, rate=20.0)).table
        for r in t.filter(pl.col("method") == "observational").iter_rows(named=True):
            inside += r["ci_lower"] <= truth[r["tier"]] <= r["ci_upper"]
            total += 1
    # 300 intervals at 95%: Binomial(300, 0.95) lies in [276, 296] with probability > 0.998
    lo, hi = stats.binom.ppf([0.001, 0.999], total, 0.95)
    assert lo <= inside <= hi, inside


def test_dml_partialling_out_recovers_a_planted_effect_under_confounding():
    g = np.random.default_rng(5)
    n = 400
    X = g.uniform(-1, 1, (n, 2))
    d = np.sin(2 * X[:, 0]) + 0.5 * g.normal(size=n)
    y = -1.3 * d + 2 * np.sin(2 * X[:, 0]) + X[:, 1] ** 2 + 0.3 * g.normal(size=n)
    theta, se = partialling_out(y, d, X, DmlSettings(n_estimators=50))
    naive = np.polyfit(d, y, 1)[0]
    assert abs(theta + 1.3) < 3 * se
    assert abs(naive + 1.3) > 3 * se  # the confounding the nuisance fits remove


def test_dml_rows_carry_statuses_for_too_few_cells():
    cells = frames.weekly_cells({"starter": -1.0}, weeks=6, change_weeks=(2, 4))
    row = dml_elasticities(cells).row(0, named=True)
    assert row["status"] == "too_few_cells" and row["estimate"] is None
