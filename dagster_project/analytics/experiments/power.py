"""Power and sample size for two-or-more-arm experiments (normal approximation).

Each treatment is compared with the control at a Bonferroni level ``alpha / (k - 1)`` for ``k``
arms (the conservative pre-registration choice; Holm is used in the read-out). Per-comparison
variance of the lift estimate ``sigma^2 (1 / n_c + 1 / n_t)``, with ``n_i = N w_i``.

- proportions: effect size Cohen's h ``2 asin(sqrt(p1)) - 2 asin(sqrt(p0))`` with unit variance,
  as statsmodels ``NormalIndPower`` (5% -> 6%, alpha 0.05, power 0.8: 8,143 per arm);
- means: ``delta / sigma`` with ``delta = mde x baseline mean`` (relative MDE);
- counts (arrivals per arm): ``log`` ratio with variance ``1 / n_c + 1 / n_t``.

Power includes both rejection tails, like statsmodels: ``Phi(|e| sqrt(I) - z) + Phi(-|e| sqrt(I) - z)``
with ``I = 1 / (1/n_c + 1/n_t)`` and ``z = z_{1 - alpha'/2}``.

The sequential method (:mod:`.sequential`) rejects at ``c = 3.0352``
standard errors at its tuning sample instead of ``1.96``; reaching the same power there needs
``((c + z_power) / (z_{alpha/2} + z_power))^2`` times the fixed sample (about 1.9x at alpha 0.05,
power 0.8): :func:`sequential_inflation`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .sequential import boundary_multiplier


def cohens_h(p0, p1) -> np.ndarray:
    """Cohen's h between two proportions."""
    with np.errstate(invalid="ignore"):
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        return 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p0))


def _z(alpha, n_arms):
    return stats.norm.ppf(1 - np.asarray(alpha, float) / (2 * np.maximum(np.asarray(n_arms) - 1, 1)))


def power_from_effect(effect, n_control, n_treatment, alpha=0.05, n_arms=2) -> np.ndarray:
    """Power of the two-sided z test of a standardized effect (effect / sigma)."""
    e = np.abs(np.asarray(effect, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        info = 1 / (1 / np.asarray(n_control, float) + 1 / np.asarray(n_treatment, float))
    z = _z(alpha, n_arms)
    shift = e * np.sqrt(np.nan_to_num(info))
    return stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z)


def sample_size_per_arm(effect, alpha=0.05, power=0.8, n_arms=2, ratio=1.0) -> np.ndarray:
    """Control-arm sample size ``n_c`` for a standardized effect; treatment gets ``ratio x n_c``.

    Closed form ``n_c = (1 + 1/ratio) ((z_{1-a'/2} + z_power) / e)^2`` refined by a few Newton
    steps on the two-tailed power (so it matches statsmodels exactly), then rounded up."""
    e = np.abs(np.asarray(effect, float))
    z = _z(alpha, n_arms)
    zb = stats.norm.ppf(np.asarray(power, float))
    k = 1 + 1 / np.asarray(ratio, float)
    with np.errstate(divide="ignore"):
        n = k * ((z + zb) / e) ** 2
    for _ in range(3):  # the lower tail adds a little power: solve power(n) = target
        s = e * np.sqrt(n / k)
        f = stats.norm.cdf(s - z) + stats.norm.cdf(-s - z) - power
        fp = (stats.norm.pdf(s - z) - stats.norm.pdf(-s - z)) * e / (2 * np.sqrt(n * k))
        with np.errstate(divide="ignore", invalid="ignore"):
            n = np.where(fp > 0, n - f / fp, n)
    return np.ceil(n - 1e-9)


def standardized_effect(metric_type, baseline, mde, baseline_sd=None) -> np.ndarray:
    """Standardized effect of a relative MDE on a metric.

    ``proportion``: Cohen's h of ``p -> p (1 + mde)``; ``mean``/``ratio``: ``mde x mean / sd``;
    ``count``: ``log(1 + mde)`` (unit variance per arrival on the log scale)."""
    b, m = np.asarray(baseline, float), np.asarray(mde, float)
    if metric_type == "proportion":
        return cohens_h(b, np.clip(b * (1 + m), 0, 1))
    if metric_type == "count":
        return np.log1p(m)
    return m * b / np.asarray(baseline_sd, float)


def sequential_inflation(alpha=0.05, power=0.8, n_arms=2) -> np.ndarray:
    """Sample-size factor of the always-valid test tuned at its own planned sample."""
    c = boundary_multiplier(1.0, 1.0, np.asarray(alpha, float) / np.maximum(np.asarray(n_arms) - 1, 1))
    zb = stats.norm.ppf(power)
    return ((c + zb) / (_z(alpha, n_arms) + zb)) ** 2
