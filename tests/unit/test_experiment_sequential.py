"""Always-valid inference: the normal-mixture boundary, its p-value and A/A error rates."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import integrate, stats

from dagster_project.analytics.experiments import comparison as cmp
from dagster_project.analytics.experiments import estimates as es
from dagster_project.analytics.experiments import power as pw
from dagster_project.analytics.experiments import sequential as sq


def test_mixture_boundary_at_tuning_sample_is_3_0352_standard_errors():
    assert sq.boundary_multiplier(1000, 1000, 0.05) == pytest.approx(3.0352, abs=5e-5)
    # second method: the tuned rho is (to 1e-4) the one minimising the boundary at that n
    rhos = np.geomspace(0.01, 10, 20001)
    c = np.sqrt((1 + rhos) * np.log((1 + rhos) / (rhos * 0.05**2)))
    assert c.min() == pytest.approx(3.0352, abs=2e-4)
    assert sq.mixture_rho(1.0) == pytest.approx(rhos[c.argmin()], rel=0.05)


def test_sequential_method_costs_about_ninety_percent_more_sample():
    assert pw.sequential_inflation(0.05, 0.8) == pytest.approx(((3.0352 + 0.8416) / 2.8016) ** 2,
                                                               rel=1e-3)


def test_mixture_martingale_equals_its_defining_integral():
    # M_n = int exp(theta S_n - theta^2 n / 2) N(theta; 0, 1 / rho) dtheta, S_n = z sqrt(n)
    for z, n, tuning in ((2.5, 400.0, 1000.0), (-1.2, 50.0, 80.0), (4.0, 3000.0, 1000.0)):
        rho = float(sq.mixture_rho(tuning, 0.05))
        s = z * np.sqrt(n)
        integral, _ = integrate.quad(
            lambda t, s=s, n=n, rho=rho: np.exp(t * s - t * t * n / 2)
            * stats.norm.pdf(t, 0, 1 / np.sqrt(rho)), -np.inf, np.inf, epsabs=0, epsrel=1e-10)
        assert sq.log_mixture_martingale(z, n, tuning, 0.05) == pytest.approx(np.log(integral),
                                                                             rel=1e-8)


def test_always_valid_p_value_is_below_alpha_exactly_when_the_sequence_excludes_zero():
    g = np.random.default_rng(5)
    z = g.normal(0, 3, 20000)
    n = g.uniform(10, 5000, z.size)
    tuning = g.uniform(100, 5000, z.size)
    arms = g.integers(2, 5, z.size)
    alpha = 0.05
    level = alpha / (arms - 1)  # the interval of each of the k - 1 treatments
    excludes = np.abs(z) > sq.boundary_multiplier(n, tuning, level)
    p = sq.always_valid_p_value(z, n, tuning, level, arms - 1)
    assert ((p < alpha) == excludes).all()
    assert ((p >= 0) & (p <= 1)).all() and excludes.any() and (~excludes).any()


def test_results_report_p_values_consistent_with_their_intervals(experiment_frames):
    f = experiment_frames
    g = np.random.default_rng(12)
    reg = f.registry(*[{"experiment_id": f"e{i}", "baseline": 0.1,
                        "arms": (("control", 0.34), ("a", 0.33), ("b", 0.33))}
                       for i in range(60)])
    rows = [f.unit_stats(f"e{i}", v, g.random(3000) < p)
            for i in range(60) for v, p in (("control", 0.1), ("a", 0.1), ("b", 0.1 + i / 1000))]
    out = f.readout(f.arm_stats(*rows), reg).filter(pl.col("status") == "ok")
    for p, low, high in (("seq_p_value", "seq_ci_low", "seq_ci_high"),
                         ("seq_p_value_rel", "seq_rel_ci_low", "seq_rel_ci_high")):
        excludes = (out[low] > 0) | (out[high] < 0)
        assert ((out[p] < 0.05) == excludes).all() and excludes.any() and not excludes.all()


N_EXP, DAYS, PER_DAY = 1000, 20, 50


def aa_daily_tests(seed: int = 20250101):
    """Cumulative Welch tests, sequential intervals and always-valid p-values for N_EXP A/A
    experiments x DAYS looks."""
    g = np.random.default_rng(seed)
    y = g.lognormal(0, 0.8, (2, N_EXP, DAYS, PER_DAY))  # skewed like revenue
    s1 = y.sum(axis=-1).cumsum(axis=-1)
    s2 = (y * y).sum(axis=-1).cumsum(axis=-1)
    n = PER_DAY * np.arange(1, DAYS + 1) * np.ones((N_EXP, 1))
    mc, vc, _ = es.mean_estimate(n, s1[0], s2[0])
    mt, vt, _ = es.mean_estimate(n, s1[1], s2[1])
    c = cmp.compare(mc, vc, mt, vt, 0.05, cmp.welch_df(vc, vt, n, n))
    mult = sq.boundary_multiplier(2 * n, 2 * n[:, -1:], 0.05)
    seq_reject = np.abs(c.abs_lift) > mult * c.abs_se
    p_seq = sq.always_valid_p_value(c.abs_lift / c.abs_se, 2 * n, 2 * n[:, -1:], 0.05)
    return c.p_value < 0.05, seq_reject, np.minimum.accumulate(p_seq, axis=1)


def test_aa_fixed_sequential_and_naive_peeking_error_rates():
    fixed, seq, running_min = aa_daily_tests()
    fixed_rate = fixed[:, -1].mean()          # one look at the planned end
    peeking_rate = fixed.any(axis=1).mean()   # stop at the first daily p < 0.05
    sequential_rate = seq.any(axis=1).mean()  # stop when the confidence sequence leaves 0
    assert 0.03 <= fixed_rate <= 0.07
    assert sequential_rate <= 0.07
    assert peeking_rate > 0.15 > 2 * fixed_rate
    # stopping when the running minimum of the always-valid p-value drops below alpha is the
    # same rule as stopping when the sequence first leaves 0
    assert ((running_min[:, -1] < 0.05) == seq.any(axis=1)).all()
