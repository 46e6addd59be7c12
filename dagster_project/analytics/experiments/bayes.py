"""Bayesian read-out of a lift (normal approximation, GrowthBook's engine)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from .estimates import _a


def bayes_normal(lift, se) -> tuple[np.ndarray, np.ndarray]:
    """Chance to beat control and expected loss under a flat prior (normal approximation).

    The posterior of the lift is ``N(lift, se^2)``: ``P(lift > 0) = Phi(lift / se)``; the
    expected loss of shipping the treatment is ``E[max(0, -lift)] = se phi(z) - lift Phi(-z)``
    with ``z = lift / se`` (GrowthBook's normal-approximation engine). Higher is better."""
    lift, se = _a(lift), _a(se)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = lift / se
        z = np.where(se > 0, z, np.sign(lift) * np.inf)
    chance = stats.norm.cdf(z)
    loss = np.where(se > 0, se * stats.norm.pdf(z) - lift * stats.norm.cdf(-z), np.maximum(-lift, 0))
    return chance, loss
