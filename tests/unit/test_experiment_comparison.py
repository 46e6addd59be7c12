"""Lifts, intervals and p-values against GrowthBook's published vectors and scipy, and the
comparisons gbstats refuses (zero variance, zero baseline) or that no caller may ask for."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dagster_project.analytics.experiments import comparison as cmp
from dagster_project.analytics.experiments import estimates as es

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
    assert c.status == "ok"


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


def test_constant_arms_are_refused_as_zero_variance_not_p_zero():
    # constant 5 (control) vs constant 6 (treatment), 1,000 units each; gbstats refuses with
    # ZERO_NEGATIVE_VARIANCE. Also a constant 0.1 whose sums leave a 1.8e-15 rounding residue.
    for value_c, value_t in ((5.0, 6.0), (0.1, 0.2)):
        yc, yt = np.full(1000, value_c), np.full(1000, value_t)
        mc, vc, _ = es.mean_estimate(1000, yc.sum(), (yc * yc).sum())
        mt, vt, _ = es.mean_estimate(1000, yt.sum(), (yt * yt).sum())
        c = cmp.compare(mc, vc, mt, vt)
        assert c.status == "zero_variance"
        assert np.isnan([c.p_value, c.abs_ci_low, c.rel_ci_high, c.abs_lift]).all()


def test_zero_control_mean_is_refused_as_zero_baseline():
    p_c, v_c = es.proportion_estimate(1000, 0)
    p_t, v_t = es.proportion_estimate(1000, 12)
    c = cmp.compare(p_c, v_c, p_t, v_t)
    assert c.status == "zero_baseline" and np.isnan(c.rel_lift) and np.isnan(c.p_value)


@pytest.mark.parametrize("alpha", [0.0, 1.5, -0.1, 1.0])
def test_alpha_outside_the_unit_interval_is_a_value_error(alpha):
    with pytest.raises(ValueError, match=r"alpha: the significance level must lie in \(0, 1\)"):
        cmp.compare(0.1, 1e-4, 0.12, 1e-4, alpha)
