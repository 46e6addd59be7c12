"""The Bayesian read-out: conjugate normal-normal posterior, risks and credible interval,
against a hand computation, Monte Carlo and gbstats."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dagster_project.analytics.experiments import bayes


def test_proper_prior_gives_the_conjugate_normal_posterior():
    # lift 0.03 +/- 0.01 observed, prior N(0, 0.02^2): precision 1/0.01^2 + 1/0.02^2 = 12,500,
    # mean (0.03 / 0.01^2) / 12,500 = 0.024, sd 1 / sqrt(12,500)
    post = bayes.posterior(0.03, 0.01, 0.0, 0.02, alpha=0.05)
    sd = 1 / np.sqrt(12500)
    assert post.mean == pytest.approx(0.024, rel=1e-12)
    assert post.sd == pytest.approx(sd, rel=1e-12)
    assert post.chance_to_win == pytest.approx(stats.norm.cdf(0.024 / sd), rel=1e-12)
    assert post.ci_low == pytest.approx(0.024 - 1.959963984540054 * sd, rel=1e-12)
    assert post.ci_high == pytest.approx(0.024 + 1.959963984540054 * sd, rel=1e-12)


def test_chance_risks_and_interval_match_monte_carlo_over_the_prior():
    # importance sampling: effects drawn from the prior, weighted by the likelihood of the data
    g = np.random.default_rng(2)
    lift, se, prior_mean, prior_sd = 0.012, 0.015, 0.005, 0.01
    effect = g.normal(prior_mean, prior_sd, 4_000_000)
    w = stats.norm.pdf(lift, effect, se)
    w /= w.sum()
    post = bayes.posterior(lift, se, prior_mean, prior_sd)
    assert post.chance_to_win == pytest.approx(w @ (effect > 0), abs=2e-3)
    assert post.risk_control == pytest.approx(w @ np.maximum(effect, 0), rel=0.01)
    assert post.risk_treatment == pytest.approx(w @ np.maximum(-effect, 0), rel=0.02)
    order = np.argsort(effect)
    cdf = np.cumsum(w[order])
    assert post.ci_low == pytest.approx(effect[order][np.searchsorted(cdf, 0.025)], abs=5e-4)
    assert post.ci_high == pytest.approx(effect[order][np.searchsorted(cdf, 0.975)], abs=5e-4)


def test_flat_prior_chance_to_win_and_loss_match_monte_carlo():
    draws = np.random.default_rng(2).normal(0.02, 0.015, 2_000_000)
    post = bayes.posterior(0.02, 0.015)
    assert post.chance_to_win == pytest.approx((draws > 0).mean(), abs=1e-3)
    assert post.risk_treatment == pytest.approx(np.maximum(-draws, 0).mean(), rel=0.01)
    assert post.risk_control == pytest.approx(np.maximum(draws, 0).mean(), rel=0.01)


def test_posterior_matches_gbstats_effect_bayesian_test():
    """gbstats EffectBayesianABTest (GrowthBook packages/stats at commit 8f1db445, throwaway
    venv), relative difference, alpha 0.05, on the CUPED vector of test_experiment_cuped.py
    (relative lift 0.024142572095526782, sd 0.008858221318205222). Prior N(0, 0.02^2):
    chanceToWin 0.9936479265644216, expected 0.020183224634050232, sd 0.008099347546493503,
    ci [0.004308795144650112, 0.03605765412345035], risk [0.02019986598448807,
    1.6641350437834898e-05]. Flat: 0.9967892311449276, ci [0.006780777344759622,
    0.04150436684629394], risk [0.024151210580568846, 8.638485042061838e-06]."""
    lift, se = 0.024142572095526782, 0.008858221318205222
    cases = {(0.0, 0.02): (0.9936479265644216, 0.020183224634050232, 0.008099347546493503,
                          0.004308795144650112, 0.03605765412345035, 0.02019986598448807,
                          1.6641350437834898e-05),
             (np.nan, np.nan): (0.9967892311449276, lift, se, 0.006780777344759622,
                                0.04150436684629394, 0.024151210580568846,
                                8.638485042061838e-06)}
    for (m, s), expected in cases.items():
        p = bayes.posterior(lift, se, m, s)
        got = (p.chance_to_win, p.mean, p.sd, p.ci_low, p.ci_high, p.risk_control,
               p.risk_treatment)
        np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize(("mean", "sd"), [(0.0, 0.0), (0.0, -0.1), (0.0, np.nan)])
def test_improper_prior_arguments_are_a_value_error(mean, sd):
    with pytest.raises(ValueError, match="prior_sd: a proper prior needs a mean and an sd > 0"):
        bayes.posterior(0.01, 0.01, mean, sd)
