"""CUPED on gbstats' convention: theta from the pair's pooled sums, the relative lift over the
control's unadjusted mean with gbstats' delta-method variance."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.experiments import comparison as cmp
from dagster_project.analytics.experiments import estimates as es

# (pre x, post y) per unit, small enough to follow by hand
CONTROL = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 5.0], [4.0, 4.0]])
TREATMENT = np.array([[1.0, 3.0], [2.0, 5.0], [4.0, 6.0], [5.0, 8.0]])


def sums(units: np.ndarray) -> tuple:
    x, y = units[:, 0], units[:, 1]
    return (len(units), y.sum(), (y * y).sum(), x.sum(), (x * x).sum(), (x * y).sum())


def test_theta_is_the_pooled_covariance_over_the_pooled_variance():
    # by hand over the 8 pooled units, ignoring the arm (gbstats compute_theta):
    # x = 1 2 3 4 1 2 4 5, mean 22/8 = 2.75; y = 2 3 5 4 3 5 6 8, mean 36/8 = 4.5
    # sum (x - 2.75)^2 = 15.5; sum (x - 2.75)(y - 4.5) = 116 - 22 x 36 / 8 = 17 -> theta = 17 / 15.5
    pooled = [c + t for c, t in zip(sums(CONTROL), sums(TREATMENT))]
    assert es.cuped_theta(*pooled) == pytest.approx(17 / 15.5, rel=1e-14)
    both = np.vstack([CONTROL, TREATMENT])  # second method: numpy on the units
    assert es.cuped_theta(*pooled) == pytest.approx(
        np.cov(both[:, 0], both[:, 1])[0, 1] / both[:, 0].var(ddof=1), rel=1e-14)


def test_cuped_lift_matches_a_hand_computation_from_the_pooled_sums():
    theta = 17 / 15.5
    lift = es.cuped_lift(sums(CONTROL), sums(TREATMENT), theta)
    # control: means x 2.5, y 3.5; s2_x = 5/3, s2_y = 5/3, cov = 4/3 (deviations over n - 1 = 3)
    # treatment: means x 3, y 5.5; s2_x = 10/3, s2_y = 13/3, cov = 11/3
    m_c, m_t = 3.5, 5.5
    d = (5.5 - theta * 3.0) - (3.5 - theta * 2.5)
    v_c = 5 / 3 - 2 * theta * 4 / 3 + theta**2 * 5 / 3
    v_t = 13 / 3 - 2 * theta * 11 / 3 + theta**2 * 10 / 3
    assert lift.abs_lift == pytest.approx(d, rel=1e-14)
    assert lift.abs_var == pytest.approx(v_c / 4 + v_t / 4, rel=1e-14)
    assert lift.rel_lift == pytest.approx(d / m_c, rel=1e-14)  # over the unadjusted control mean
    # gbstats frequentist_variance_relative_cuped
    v_trt = v_t / (4 * m_c**2)
    v_ctrl = (5 / 3 * m_t**2 / m_c**2 - 2 * theta * 4 / 3 * m_t / m_c + theta**2 * 5 / 3) / (
        4 * m_c**2)
    assert lift.rel_var == pytest.approx(v_trt + v_ctrl, rel=1e-14)


# Two arms' sufficient statistics (n, sum_y, sum_y2, sum_x, sum_x2, sum_xy) of a simulated CUPED
# experiment (pre/post correlation 0.7, +0.8% effect).
GB_CONTROL = (1200, 118574.98, 12772374.0292, 119873.28, 13078010.233, 12599516.1955)
GB_TREATMENT = (1250, 127452.41, 14162977.2531, 126202.08, 13809635.091, 13665815.8795)


def test_cuped_readout_matches_gbstats_on_a_published_vector():
    """gbstats (GrowthBook packages/stats at commit 8f1db445 of 2026-08-21, run in a throwaway
    venv) on these statistics as RegressionAdjustedStatistic, TwoSidedTTest, alpha 0.05:
    compute_theta 0.7157152905500782; relative 0.024142572095526782, CI [0.006772179743182446,
    0.041512964447871115], p 0.006467291301259337, sd 0.008858221318205222; absolute
    2.3855875028130384, CI [0.6958081212762162, 4.075366884349861], p 0.005675735138863658."""
    pooled = [c + t for c, t in zip(GB_CONTROL, GB_TREATMENT)]
    theta = es.cuped_theta(*pooled)
    assert theta == pytest.approx(0.7157152905500782, rel=1e-12)
    lift = es.cuped_lift(GB_CONTROL, GB_TREATMENT, theta)
    df = cmp.welch_df(lift.var_mean_c, lift.var_mean_t, GB_CONTROL[0], GB_TREATMENT[0])
    c = cmp.compare_moments(lift.abs_lift, lift.abs_var, lift.rel_lift, lift.rel_var,
                            GB_CONTROL[1] / GB_CONTROL[0], lift.var_mean_c, lift.var_mean_t,
                            0.05, df)
    expected = {"rel_lift": 0.024142572095526782, "rel_ci_low": 0.006772179743182446,
                "rel_ci_high": 0.041512964447871115, "p_value_rel": 0.006467291301259337,
                "rel_se": 0.008858221318205222, "abs_lift": 2.3855875028130384,
                "abs_ci_low": 0.6958081212762162, "abs_ci_high": 4.075366884349861,
                "p_value": 0.005675735138863658}
    for name, value in expected.items():
        assert getattr(c, name) == pytest.approx(value, rel=1e-11), name


def test_cuped_shrinks_variance_to_one_minus_rho_squared():
    g = np.random.default_rng(11)
    rho, n = 0.7, 40000

    def arm():
        z0, z1 = g.standard_normal(n), g.standard_normal(n)
        x, y = 100 + 30 * z0, 100 + 30 * (rho * z0 + np.sqrt(1 - rho**2) * z1)
        return (n, y.sum(), (y * y).sum(), x.sum(), (x * x).sum(), (x * y).sum())

    c, t = arm(), arm()
    lift = es.cuped_lift(c, t, es.cuped_theta(*[a + b for a, b in zip(c, t)]))
    _, v_c, _ = es.mean_estimate(*c[:3])
    _, v_t, _ = es.mean_estimate(*t[:3])
    assert lift.abs_var / (v_c + v_t) == pytest.approx(1 - rho**2, abs=0.01)  # reduction rho^2


def test_each_treatment_gets_the_theta_of_its_own_pair(experiment_frames):
    f = experiment_frames
    g = np.random.default_rng(4)
    arms = {}
    for name, slope in (("control", 0.5), ("a", 0.5), ("b", 2.0)):
        x = g.normal(10, 2, 300)
        arms[name] = np.c_[x, slope * x + g.normal(0, 1, 300)]
    reg = f.registry({"primary_metric": "revenue_14d", "baseline": 10.0, "baseline_sd": 2.0,
                      "arms": (("control", 0.34), ("a", 0.33), ("b", 0.33))})
    stats = f.arm_stats(*[f.unit_stats("e1", v, u[:, 1], u[:, 0]) for v, u in arms.items()])
    out = f.readout(stats, reg).filter(pl.col("metric") == "revenue_14d")
    for variant in ("a", "b"):
        pair = np.vstack([arms["control"], arms[variant]])
        hand = np.cov(pair[:, 0], pair[:, 1])[0, 1] / pair[:, 0].var(ddof=1)
        got = out.filter(pl.col("variant") == variant)["cuped_theta"].item()
        assert got == pytest.approx(hand, rel=1e-12)
