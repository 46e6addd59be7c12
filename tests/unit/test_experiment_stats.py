"""The experiment statistics against published vectors, statsmodels and simulation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from dagster_project.analytics.experiments import bayes
from dagster_project.analytics.experiments import comparison as cmp
from dagster_project.analytics.experiments import estimates as es
from dagster_project.analytics.experiments import multiple_testing as mt
from dagster_project.analytics.experiments import power as pw
from dagster_project.analytics.experiments import sample_ratio as srm
from dagster_project.analytics.experiments.multiple_testing import adjust_pvalues
from dagster_project.analytics.experiments.registry import Definition, required_sample, validate
from dagster_project.analytics.experiments.sequential import boundary_multiplier, mixture_rho

# GrowthBook gbstats test suite (tests/frequentist/test_tests.py, TwoSidedTTest)
GB_A = (3407, 1396.87, 52377.9767)
GB_B = (3461, 2422.7, 134698.29)


def gbstats_comparison():
    mc, vc, _ = es.mean_estimate(*GB_A)
    mt, vt, _ = es.mean_estimate(*GB_B)
    return cmp.compare(mc, vc, mt, vt, 0.05, cmp.welch_df(vc, vt, GB_A[0], GB_B[0]))


def test_relative_lift_matches_gbstats_published_vector():
    c = gbstats_comparison()
    assert c.rel_lift == pytest.approx(0.70732, abs=1e-5)
    assert c.rel_ci_low == pytest.approx(-0.03526, abs=1e-5)
    assert c.rel_ci_high == pytest.approx(1.44989, abs=1e-5)
    assert c.p_value_rel == pytest.approx(0.06191, abs=1e-5)


def test_absolute_lift_matches_gbstats_published_vector():
    c = gbstats_comparison()
    assert c.abs_ci_low == pytest.approx(0.04538, abs=1e-5)
    assert c.abs_ci_high == pytest.approx(0.53462, abs=1e-5)
    assert c.p_value == pytest.approx(0.02016, abs=1e-5)


def test_welch_p_value_equals_scipy_on_unit_data():
    g = np.random.default_rng(1)
    a, b = g.normal(0, 1, 40), g.normal(0.5, 2, 55)
    mc, vc, _ = es.mean_estimate(a.size, a.sum(), (a * a).sum())
    mt, vt, _ = es.mean_estimate(b.size, b.sum(), (b * b).sum())
    c = cmp.compare(mc, vc, mt, vt, 0.05, cmp.welch_df(vc, vt, a.size, b.size))
    assert c.p_value == pytest.approx(stats.ttest_ind(b, a, equal_var=False).pvalue, rel=1e-9)


P_VALUES = [0.01, 0.04, 0.03, 0.005, 0.55, 0.6]


@pytest.mark.parametrize(("ours", "method"), [(mt.holm, "holm"), (mt.benjamini_hochberg, "fdr_bh")])
def test_adjusted_p_values_equal_statsmodels_multipletests(ours, method):
    expected = multipletests(P_VALUES, method=method)[1]
    np.testing.assert_allclose(ours(P_VALUES), expected, rtol=1e-12)


def test_grouped_adjustment_equals_statsmodels_per_experiment():
    g = np.random.default_rng(3)
    df = pl.DataFrame({"experiment_id": np.repeat(["a", "b", "c"], [6, 4, 1]),
                       "p_value": g.uniform(0, 0.2, 11)})
    out = adjust_pvalues(df)
    for e in ("a", "b", "c"):
        part = out.filter(pl.col("experiment_id") == e)
        p = part["p_value"].to_numpy()
        np.testing.assert_allclose(part["p_holm"], multipletests(p, method="holm")[1], rtol=1e-12)
        np.testing.assert_allclose(part["p_bh"], multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def test_two_proportion_sample_size_equals_statsmodels_normal_ind_power():
    h = pw.cohens_h(0.05, 0.06)
    assert h == pytest.approx(proportion_effectsize(0.06, 0.05), rel=1e-12)
    expected = NormalIndPower().solve_power(h, alpha=0.05, power=0.8, ratio=1)
    assert pw.sample_size_per_arm(h, 0.05, 0.8) == np.ceil(expected) == 8143


def test_unequal_allocation_and_power_equal_statsmodels():
    assert pw.sample_size_per_arm(0.1, ratio=2) == np.ceil(
        NormalIndPower().solve_power(0.1, alpha=0.05, power=0.8, ratio=2))
    assert pw.power_from_effect(0.05, 3000, 6000) == pytest.approx(
        NormalIndPower().power(0.05, 3000, 0.05, ratio=2), rel=1e-10)


def test_more_arms_need_more_units_per_arm():
    two, three = pw.sample_size_per_arm(0.05, n_arms=2), pw.sample_size_per_arm(0.05, n_arms=3)
    expected = NormalIndPower().solve_power(0.05, alpha=0.025, power=0.8, ratio=1)  # Bonferroni
    assert three == np.ceil(expected) > two


def test_mixture_boundary_at_tuning_sample_is_3_0352_standard_errors():
    assert boundary_multiplier(1000, 1000, 0.05) == pytest.approx(3.0352, abs=5e-5)
    # second method: the tuned rho is (to 1e-4) the one minimising the boundary at that n
    rhos = np.geomspace(0.01, 10, 20001)
    c = np.sqrt((1 + rhos) * np.log((1 + rhos) / (rhos * 0.05**2)))
    assert c.min() == pytest.approx(3.0352, abs=2e-4)
    assert mixture_rho(1.0) == pytest.approx(rhos[c.argmin()], rel=0.05)


def test_sequential_method_costs_about_ninety_percent_more_sample():
    assert pw.sequential_inflation(0.05, 0.8) == pytest.approx(((3.0352 + 0.8416) / 2.8016) ** 2,
                                                               rel=1e-3)


def test_ratio_delta_method_matches_unit_level_linearisation():
    g = np.random.default_rng(5)
    den = g.poisson(3, 5000).astype(float)
    num = den * g.gamma(2, 10, 5000)
    r, v = es.ratio_estimate(5000, num.sum(), (num**2).sum(), den.sum(), (den**2).sum(),
                             (num * den).sum())
    lin = (num - r * den) / den.mean()  # influence function of the ratio
    assert r == pytest.approx(num.sum() / den.sum())
    assert v == pytest.approx(lin.var(ddof=1) / 5000, rel=1e-9)


def test_cuped_shrinks_variance_to_one_minus_rho_squared():
    g = np.random.default_rng(11)
    rho, n = 0.7, 40000
    z0, z1 = g.standard_normal(n), g.standard_normal(n)
    x, y = 100 + 30 * z0, 100 + 30 * (rho * z0 + np.sqrt(1 - rho**2) * z1)
    suff = (n, y.sum(), (y * y).sum(), x.sum(), (x * x).sum(), (x * y).sum())
    theta = es.cuped_theta(np.array([n]), [y.sum()], [x.sum()], [(x * x).sum()], [(x * y).sum()])
    c = es.cuped_estimate(*suff, theta, x.mean())
    _, v_raw, _ = es.mean_estimate(n, y.sum(), (y * y).sum())
    assert c.var_mean / v_raw == pytest.approx(1 - rho**2, abs=0.01)  # reduction: rho^2


def test_srm_chi_square_equals_scipy_chisquare():
    counts = np.array([[1268, 952], [500, 500], [340, 330, 330]][:2])
    stat, p = srm.srm_chi2(counts, np.array([[0.5, 0.5], [0.5, 0.5]]))
    ref = stats.chisquare([1268, 952])
    assert stat[0] == pytest.approx(ref.statistic) and p[0] == pytest.approx(ref.pvalue)
    assert p[0] < 0.001 < p[1]


def test_bayesian_chance_to_win_and_loss_match_monte_carlo():
    draws = np.random.default_rng(2).normal(0.02, 0.015, 2_000_000)
    chance, loss = bayes.bayes_normal(0.02, 0.015)
    assert chance == pytest.approx((draws > 0).mean(), abs=1e-3)
    assert loss == pytest.approx(np.maximum(-draws, 0).mean(), rel=0.01)


def good_definition(**changes) -> Definition:
    base = {"name": "checkout_copy", "hypothesis": "h", "kind": "feature", "unit_type": "user",
            "primary_metric": "conversion", "variants": [("control", 0.5), ("treatment", 0.5)],
            "mde": 0.2, "baseline": 0.05}
    return Definition(**{**base, **changes})


def test_registry_sizes_a_valid_definition_like_statsmodels():
    assert validate(good_definition()) == []
    assert required_sample(good_definition()) == (8143.0, 16286.0)


@pytest.mark.parametrize(("changes", "message"), [
    ({"variants": [("control", 0.6), ("treatment", 0.6)]}, "sum to 1.2"),
    ({"control": "baseline"}, "control 'baseline' is not among"),
    ({"primary_metric": "clicks"}, "primary metric 'clicks'"),
    ({"secondary_metrics": ["dwell"]}, "unknown secondary metrics"),
    ({"variants": [("control", 1.0)]}, "at least two variants"),
    ({"baseline": None}, "baseline rate"),
    ({"primary_metric": "revenue_14d", "baseline": 50.0}, "baseline_sd"),
])
def test_registry_refuses_bad_definitions_with_the_rule(changes, message):
    errors = validate(good_definition(**changes))
    assert any(message in e for e in errors), errors


# --- simulation: A/A experiments looked at every day -----------------------------------------

N_EXP, DAYS, PER_DAY = 1000, 20, 50


def aa_daily_tests(seed: int = 20250101):
    """Cumulative Welch tests and sequential intervals for N_EXP A/A experiments x DAYS looks."""
    g = np.random.default_rng(seed)
    y = g.lognormal(0, 0.8, (2, N_EXP, DAYS, PER_DAY))  # skewed like revenue
    s1 = y.sum(axis=-1).cumsum(axis=-1)
    s2 = (y * y).sum(axis=-1).cumsum(axis=-1)
    n = PER_DAY * np.arange(1, DAYS + 1) * np.ones((N_EXP, 1))
    mc, vc, _ = es.mean_estimate(n, s1[0], s2[0])
    mt, vt, _ = es.mean_estimate(n, s1[1], s2[1])
    c = cmp.compare(mc, vc, mt, vt, 0.05, cmp.welch_df(vc, vt, n, n))
    mult = boundary_multiplier(2 * n, 2 * n[:, -1:], 0.05)
    seq_reject = np.abs(c.abs_lift) > mult * c.abs_se
    return c.p_value < 0.05, seq_reject


def test_aa_fixed_sequential_and_naive_peeking_error_rates():
    fixed, seq = aa_daily_tests()
    fixed_rate = fixed[:, -1].mean()          # one look at the planned end
    peeking_rate = fixed.any(axis=1).mean()   # stop at the first daily p < 0.05
    sequential_rate = seq.any(axis=1).mean()  # stop when the confidence sequence leaves 0
    assert 0.03 <= fixed_rate <= 0.07
    assert sequential_rate <= 0.07
    assert peeking_rate > 0.15 > 2 * fixed_rate
