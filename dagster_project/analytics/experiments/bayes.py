"""Bayesian read-out of a lift: normal likelihood, flat or Gaussian prior (gbstats' effect model)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .comparison import check_alpha
from .estimates import _a


@dataclass(frozen=True)
class Posterior:
    """Posterior of the lift, element-wise: mean, sd, ``chance_to_win = P(lift > 0)``, the risk
    (expected loss) of each choice and the equal-tailed ``1 - alpha`` credible interval."""

    mean: np.ndarray
    sd: np.ndarray
    chance_to_win: np.ndarray
    risk_control: np.ndarray
    risk_treatment: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


def posterior(lift, se, prior_mean=np.nan, prior_sd=np.nan, alpha=0.05) -> Posterior:
    """Normal-normal posterior of a lift estimated as ``lift`` with standard error ``se``.

    Likelihood ``lift ~ N(effect, se^2)``; prior ``effect ~ N(prior_mean, prior_sd^2)`` where
    ``prior_sd`` is given, flat (improper) where it is NaN. Conjugate update: precision
    ``1 / se^2 + 1 / prior_sd^2``, mean ``(lift / se^2 + prior_mean / prior_sd^2) / precision``
    (gbstats ``EffectBayesianABTest``). With ``mu``, ``s`` the posterior mean and sd and
    ``z = mu / s``: ``P(effect > 0) = Phi(z)``; the risk of keeping the control (the gain
    forgone) ``E[max(effect, 0)] = s phi(z) + mu Phi(z)`` and of shipping the treatment
    ``E[max(-effect, 0)] = s phi(z) - mu Phi(-z)`` (gbstats ``get_risk``: risk[0], risk[1]);
    credible interval ``mu -/+ z_{1-alpha/2} s``. Higher is better. NaN where ``se`` is not
    positive. ValueError for alpha outside (0, 1) or a prior sd <= 0."""
    alpha = check_alpha(alpha)
    lift, se, pm, ps = _a(lift), _a(se), _a(prior_mean), _a(prior_sd)
    if np.any(ps <= 0) or np.any(np.isnan(pm) != np.isnan(ps)):
        raise ValueError("prior_sd: a proper prior needs a mean and an sd > 0 (both NaN: flat)")
    proper = ~np.isnan(ps)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec_data = np.where(se > 0, 1 / se**2, np.nan)
        prec_prior = np.where(proper, 1 / ps**2, 0.0)
        prec = prec_data + prec_prior
        mu = (lift * prec_data + np.where(proper, pm, 0.0) * prec_prior) / prec
        s = 1 / np.sqrt(prec)
        z = mu / s
    width = stats.norm.ppf(1 - alpha / 2) * s
    return Posterior(mu, s, stats.norm.cdf(z), s * stats.norm.pdf(z) + mu * stats.norm.cdf(z),
                     s * stats.norm.pdf(z) - mu * stats.norm.cdf(-z), mu - width, mu + width)
