"""Per-arm estimates from sufficient statistics: the metric's estimate and its sampling variance.

Every function takes numpy arrays (any shape, broadcast together) so that one call covers any
number of experiments x metrics x variants; nothing loops over rows. An arm is summarised by the
estimate of its metric (``mean``) and the sampling variance of that estimate (``var_mean``,
the squared standard error), from n, sums, sums of squares and cross-products.

References: the delta method for ratios (Deng, Knoblich & Lu 2018, "Applying the delta method in
metric analytics"); CUPED (Deng, Xu, Kohavi & Walker 2013).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _a(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def mean_estimate(n, sum_y, sum_y2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample mean, its variance ``s^2 / n`` and the unit-level sample variance ``s^2``.

    ``s^2 = (sum_y2 - sum_y^2 / n) / (n - 1)`` (unbiased); assumes independent units."""
    n, sum_y, sum_y2 = _a(n), _a(sum_y), _a(sum_y2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sum_y / n
        var = np.maximum(sum_y2 - sum_y * mean, 0.0) / (n - 1)
        return mean, var / n, var


def proportion_estimate(n, n_converted) -> tuple[np.ndarray, np.ndarray]:
    """Conversion rate ``p = k / n`` and its variance ``p (1 - p) / n`` (unpooled Wald)."""
    n, k = _a(n), _a(n_converted)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        return p, p * (1 - p) / n


def ratio_estimate(n, sum_num, sum_num2, sum_den, sum_den2, sum_num_den):
    """Ratio metric ``R = sum(num) / sum(den)`` over the units of an arm, delta method.

    With unit means m_y, m_x, unit-level variances s_y^2, s_x^2 and covariance s_xy:
    ``Var(R) ~= (s_y^2 - 2 R s_xy + R^2 s_x^2) / (n m_x^2)`` (Deng et al. 2018, eq. 4): the unit
    of randomisation is the unit, not the denominator event, so this is the right variance when
    a unit contributes several denominator events (e.g. revenue per converter)."""
    n = _a(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        my, mx = _a(sum_num) / n, _a(sum_den) / n
        syy = (_a(sum_num2) - n * my * my) / (n - 1)
        sxx = (_a(sum_den2) - n * mx * mx) / (n - 1)
        sxy = (_a(sum_num_den) - n * mx * my) / (n - 1)
        r = my / mx
        return r, np.maximum(syy - 2 * r * sxy + r * r * sxx, 0.0) / (n * mx * mx)


def count_estimate(n, weight) -> tuple[np.ndarray, np.ndarray]:
    """Units per unit of allocation weight, ``n / w``, with Poisson variance ``n / w^2``.

    For experiments whose outcome is the number of units arriving in an arm (sign-ups under a
    shown price): the lift of ``n_t / w_t`` over ``n_c / w_c`` is the effect on arrivals."""
    n, w = _a(n), _a(weight)
    return n / w, n / (w * w)


@dataclass(frozen=True)
class Cuped:
    """CUPED-adjusted arm estimates: mean, variance of the mean, and ``theta``."""

    mean: np.ndarray
    var_mean: np.ndarray
    theta: np.ndarray


def cuped_estimate(n, sum_y, sum_y2, sum_x, sum_x2, sum_xy, theta, grand_mean_x) -> Cuped:
    """Regression adjustment on the pre-period value ``x`` of the metric (CUPED).

    ``Y_adj = mean_y - theta (mean_x - grand_mean_x)`` with ``theta = cov(x, y) / var(x)``
    pooled over the arms of the experiment (:func:`cuped_theta`); its variance is
    ``(s_y^2 - 2 theta s_xy + theta^2 s_x^2) / n = s_y^2 (1 - rho^2) / n`` at the optimal theta
    (Deng et al. 2013). Randomisation makes ``E[mean_x]`` equal across arms, so the adjustment
    removes noise, not effect. The uncertainty of the estimated theta is ignored (O(1/n))."""
    n = _a(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        my, mx = _a(sum_y) / n, _a(sum_x) / n
        syy = (_a(sum_y2) - n * my * my) / (n - 1)
        sxx = (_a(sum_x2) - n * mx * mx) / (n - 1)
        sxy = (_a(sum_xy) - n * mx * my) / (n - 1)
        theta = np.nan_to_num(_a(theta))
        var = np.maximum(syy - 2 * theta * sxy + theta * theta * sxx, 0.0)
        return Cuped(my - theta * (mx - _a(grand_mean_x)), var / n, theta)


def cuped_theta(n, sum_y, sum_x, sum_x2, sum_xy) -> float:
    """Pooled within-arm ``theta = sum_arms S_xy / sum_arms S_xx`` for one experiment's arms
    (1-D arrays over arms); 0 when x does not vary."""
    n = _a(n)
    sxx = _a(sum_x2) - _a(sum_x) ** 2 / n
    sxy = _a(sum_xy) - _a(sum_x) * _a(sum_y) / n
    den = sxx.sum()
    return float(sxy.sum() / den) if den > 0 else 0.0
