"""Churn calibration never reverses the model's ranking: Platt scaling with a slope <= 0 on the
calibration period gives the constrained maximum-likelihood fit (slope 0: the period's churn
rate for everyone); with a positive slope it is the plain logistic fit on the raw score."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from dagster_project.analytics.customers.churn import _Calibrator


def _calibration_period(sign: float):
    rng = np.random.default_rng(3)
    raw = rng.normal(size=400)
    y = (rng.random(400) < expit(-2 + sign * 1.5 * raw)).astype(int)
    return raw, y


def test_a_reversed_calibration_period_gives_every_client_its_churn_rate():
    raw, y = _calibration_period(-1.0)
    calibrate = _Calibrator("platt", raw, y)
    assert calibrate.flat
    scored = calibrate(np.array([-3.0, 0.0, 3.0]))
    np.testing.assert_allclose(scored, y.mean())

    # the constrained MLE: maximize the Bernoulli log-likelihood over (a, b) with b >= 0
    def nll(ab):
        p = expit(ab[0] + ab[1] * raw)
        return -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))

    fit = minimize(nll, x0=[0.0, 0.5], bounds=[(None, None), (0.0, None)], method="L-BFGS-B")
    assert fit.x[1] < 1e-6
    np.testing.assert_allclose(expit(fit.x[0]), y.mean(), rtol=1e-4)


def test_a_positive_calibration_period_keeps_the_ranking_and_the_logistic_fit():
    raw, y = _calibration_period(+1.0)
    calibrate = _Calibrator("platt", raw, y)
    assert not calibrate.flat
    grid = np.linspace(-3, 3, 13)
    scored = calibrate(grid)
    assert np.all(np.diff(scored) > 0)

    def nll(ab):
        p = expit(ab[0] + ab[1] * raw)
        return -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))

    fit = minimize(nll, x0=[0.0, 0.5], method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(scored, expit(fit.x[0] + fit.x[1] * grid), atol=1e-5)
