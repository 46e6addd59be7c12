"""Power, sample size and minimum detectable effect for two-or-more-arm experiments.

Each treatment is compared with the control at a Bonferroni level ``alpha' = alpha / (k - 1)``
for ``k`` arms (the conservative pre-registration choice; Holm is used in the read-out). The
lift estimate of a comparison has variance ``sigma^2 (1 / n_c + 1 / n_t)`` with
``n_t = ratio x n_c``; its information is ``I = 1 / (1 / n_c + 1 / n_t)``.

Conventions (which peer each function matches):

- proportions: effect size Cohen's h ``2 asin(sqrt(p1)) - 2 asin(sqrt(p0))`` with unit variance
  and the normal (z) test, as statsmodels ``NormalIndPower`` (5% -> 6%, alpha 0.05, power 0.8:
  8,143 per arm);
- means (and ratios): Cohen's d ``delta / sigma`` with ``delta = mde x baseline mean`` and the
  two-sample t test on ``n_c + n_t - 2`` degrees of freedom (noncentral t), as statsmodels
  ``TTestIndPower`` (d = 0.2, alpha 0.05, power 0.8: 393.4 per arm);
- counts (arrivals per arm): ``log`` ratio with variance ``1 / n_c + 1 / n_t`` and the z test.

Two-sided power includes both rejection tails, like statsmodels:
``Phi(|e| sqrt(I) - z) + Phi(-|e| sqrt(I) - z)`` with ``z = z_{1 - alpha'/2}`` (t: the same with
noncentral t tails); one-sided (``alternative="larger"``) keeps the upper tail at
``z_{1 - alpha'}``. Sample sizes and effects are solved from these power functions exactly (a
bracketing root finder, scipy ``elementwise.find_root``), like statsmodels ``solve_power``.

The sequential method (:mod:`.sequential`) rejects at ``c = 3.0352`` standard errors at its
tuning sample instead of ``1.96``; reaching the same power there needs
``((c + z_power) / (z_{alpha/2} + z_power))^2`` times the fixed sample (about 1.9x at alpha 0.05,
power 0.8): :func:`sequential_inflation` (normal approximation, two-sided).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.optimize import elementwise

from .comparison import check_alpha
from .sequential import boundary_multiplier

ALTERNATIVES = ("two-sided", "larger")


def cohens_h(p0, p1) -> np.ndarray:
    """Cohen's h between two proportions."""
    with np.errstate(invalid="ignore"):
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        return 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p0))


def _level(alpha, n_arms, alternative: str) -> np.ndarray:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative: must be one of {ALTERNATIVES}, got {alternative!r}")
    k = np.asarray(n_arms, float)
    if np.any(k < 2):
        raise ValueError("n_arms: an experiment has at least two arms")
    per_comparison = check_alpha(alpha) / (k - 1)
    return per_comparison / 2 if alternative == "two-sided" else per_comparison


def _check_power(power) -> np.ndarray:
    p = np.asarray(power, float)
    if not np.all((p > 0) & (p < 1)):
        raise ValueError("power: the target power must lie in (0, 1)")
    return p


def _check_ratio(ratio) -> np.ndarray:
    r = np.asarray(ratio, float)
    if not np.all(r > 0):
        raise ValueError("ratio: the treatment / control allocation ratio must be > 0")
    return r


def _power(effect, n_control, ratio, tail, two_sided: bool, t_test) -> np.ndarray:
    e = np.abs(np.asarray(effect, float))
    n_c = np.asarray(n_control, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = e * np.sqrt(n_c * ratio / (1 + ratio))
        df = n_c * (1 + ratio) - 2
        z = stats.norm.isf(tail)
        normal = stats.norm.sf(z - shift) + (stats.norm.cdf(-z - shift) if two_sided else 0)
        crit = stats.t.isf(tail, df)
        # the opposite tail is below 1e-15 past a shift of 8, where scipy's nct returns NaN
        lower = np.where(shift > 8, 0.0, stats.nct.cdf(-crit, df, shift)) if two_sided else 0
        student = stats.nct.sf(crit, df, shift) + lower
    return np.where(np.asarray(t_test, bool), student, normal)


def power_from_effect(effect, n_control, n_treatment, alpha=0.05, n_arms=2,
                      alternative: str = "two-sided", t_test=False) -> np.ndarray:
    """Power to detect a standardized effect (effect / sigma) with the given arm sizes.

    ``t_test`` (bool, broadcast): noncentral-t power on ``n_c + n_t - 2`` df (statsmodels
    ``TTestIndPower.power``), else normal (``NormalIndPower.power``). NaN when an arm is empty."""
    tail = _level(alpha, n_arms, alternative)
    n_c, n_t = np.asarray(n_control, float), np.asarray(n_treatment, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(n_c > 0, n_t / n_c, np.nan)
    return _power(effect, n_c, ratio, tail, alternative == "two-sided", t_test)


def solve_n_control(effect, alpha=0.05, power=0.8, n_arms=2, ratio=1.0,
                    alternative: str = "two-sided", t_test=False) -> np.ndarray:
    """Control-arm sample size (real-valued, not rounded) at which the comparison reaches
    ``power`` for a standardized effect; the treatment gets ``ratio x n_c``. Solves
    :func:`power_from_effect` = ``power`` like statsmodels ``solve_power(nobs1=None)``; inf for a
    zero effect."""
    tail = _level(alpha, n_arms, alternative)
    target, r = _check_power(power), _check_ratio(ratio)
    e = np.abs(np.asarray(effect, float))
    two_sided = alternative == "two-sided"
    t_test = np.asarray(t_test, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = (1 + 1 / r) * ((stats.norm.isf(tail) + stats.norm.ppf(target)) / e) ** 2
    # t: from 1 degree of freedom on (towards 0 df the noncentral t's tails misbehave)
    low = np.where(t_test, 3 / (1 + r), 1e-9)
    high = np.maximum(4 * np.nan_to_num(guess, posinf=0.0), low) + 10

    def gap(n, e, r, tail, t_test, target):
        return _power(e, n, r, tail, two_sided, t_test) - target

    args = np.broadcast_arrays(e, r, tail, t_test, target, low, high)
    e, r, tail, t_test, target, low, high = args
    solvable = np.isfinite(guess) & (e > 0)
    n = np.full(e.shape, np.nan)
    if solvable.any():
        s = solvable
        low_gap = gap(low[s], e[s], r[s], tail[s], t_test[s], target[s])
        root = elementwise.find_root(gap, (low[s], high[s]),
                                     args=(e[s], r[s], tail[s], t_test[s], target[s])).x
        n[s] = np.where(low_gap >= 0, low[s], root)
    return np.where(e == 0, np.inf, n)


def sample_size_per_arm(effect, alpha=0.05, power=0.8, n_arms=2, ratio=1.0,
                        alternative: str = "two-sided", t_test=False) -> np.ndarray:
    """:func:`solve_n_control` rounded up to whole units (``ceil(n - 1e-9)``: 8,143 stays
    8,143 when the solver returns 8142.9999999)."""
    return np.ceil(solve_n_control(effect, alpha, power, n_arms, ratio, alternative, t_test)
                   - 1e-9)


def minimum_detectable_effect(n_control, alpha=0.05, power=0.8, n_arms=2, ratio=1.0,
                              alternative: str = "two-sided", t_test=False) -> np.ndarray:
    """Smallest standardized effect detected with ``power`` at ``n_control`` control units and
    ``ratio x n_control`` treatment units (statsmodels ``solve_power(effect_size=None)``). NaN
    when the arms are too small for the test (t: fewer than 3 units in all, i.e. no degree of
    freedom)."""
    tail = _level(alpha, n_arms, alternative)
    target, r = _check_power(power), _check_ratio(ratio)
    n_c = np.asarray(n_control, float)
    t_test = np.asarray(t_test, bool)
    two_sided = alternative == "two-sided"

    def gap(e, n_c, r, tail, t_test, target):
        return _power(e, n_c, r, tail, two_sided, t_test) - target

    n_c, r, tail, t_test, target = np.broadcast_arrays(n_c, r, tail, t_test, target)
    usable = (n_c > 0) & np.where(t_test, n_c * (1 + r) >= 3, True)
    out = np.full(n_c.shape, np.nan)
    if usable.any():
        s = usable
        df = n_c[s] * (1 + r[s]) - 2
        # well past the root (a shift of 2 (z + 8) standard errors; wider for few df) but not
        # so far that the noncentral t overflows
        high = (2 * (stats.norm.isf(tail[s]) + 8) / np.sqrt(n_c[s] * r[s] / (1 + r[s]))
                * np.where(t_test[s], 1 + 30 / np.maximum(df, 1), 1))
        out[s] = elementwise.find_root(gap, (np.zeros(s.sum()), high),
                                       args=(n_c[s], r[s], tail[s], t_test[s], target[s])).x
    return out


def standardized_effect(metric_type, baseline, mde, baseline_sd=None) -> np.ndarray:
    """Standardized effect of a relative MDE on a metric.

    ``proportion``: Cohen's h of ``p -> p (1 + mde)``; ``mean``/``ratio``: ``mde x mean / sd``;
    ``count``: ``log(1 + mde)`` (unit variance per arrival on the log scale)."""
    b, m = np.asarray(baseline, float), np.asarray(mde, float)
    if metric_type == "proportion":
        return cohens_h(b, np.clip(b * (1 + m), 0, 1))
    if metric_type == "count":
        return np.log1p(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        return m * b / np.asarray(baseline_sd, float)


def relative_effect(metric_type, baseline, effect, baseline_sd=None) -> np.ndarray:
    """The relative lift a standardized effect stands for: the inverse of
    :func:`standardized_effect` (proportion: ``sin^2(asin(sqrt(p)) + h / 2) / p - 1``)."""
    b, e = np.asarray(baseline, float), np.asarray(effect, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric_type == "proportion":
            angle = np.minimum(np.arcsin(np.sqrt(b)) + e / 2, np.pi / 2)
            return np.sin(angle) ** 2 / b - 1
        if metric_type == "count":
            return np.expm1(e)
        return e * np.asarray(baseline_sd, float) / b


def sequential_inflation(alpha=0.05, power=0.8, n_arms=2) -> np.ndarray:
    """Sample-size factor of the always-valid test tuned at its own planned sample."""
    seq_alpha = check_alpha(alpha) / np.maximum(np.asarray(n_arms) - 1, 1)
    c = boundary_multiplier(1.0, 1.0, seq_alpha)
    zb = stats.norm.ppf(_check_power(power))
    return ((c + zb) / (stats.norm.isf(_level(alpha, n_arms, "two-sided")) + zb)) ** 2
