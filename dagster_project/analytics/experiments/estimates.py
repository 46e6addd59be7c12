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


#: sums of squared deviations below this share of the sum of squares are rounding noise: 0
ROUNDING = 1e-10


def sum_sq_dev(n, sum_y, sum_y2) -> np.ndarray:
    """``sum (y - mean)^2 = sum_y2 - sum_y^2 / n`` from sums, 0 when it is rounding noise (at
    most :data:`ROUNDING` x ``sum_y2`` in size: a constant 0.1 over 1,000 units leaves 1.8e-15)."""
    n, sum_y, sum_y2 = _a(n), _a(sum_y), _a(sum_y2)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = sum_y2 - sum_y * sum_y / n
    return np.where(np.abs(s) <= ROUNDING * np.abs(sum_y2), 0.0, s)


def mean_estimate(n, sum_y, sum_y2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample mean, its variance ``s^2 / n`` and the unit-level sample variance ``s^2``.

    ``s^2 = (sum_y2 - sum_y^2 / n) / (n - 1)`` (unbiased); assumes independent units."""
    n, sum_y, sum_y2 = _a(n), _a(sum_y), _a(sum_y2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sum_y / n
        var = np.maximum(sum_sq_dev(n, sum_y, sum_y2), 0.0) / (n - 1)
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


def cuped_theta(n, sum_y, sum_y2, sum_x, sum_x2, sum_xy) -> np.ndarray:
    """CUPED coefficient from the joint statistics of a treatment and its control.

    The arguments are sums over *both* arms (n_c + n_t, sum_y_c + sum_y_t, ...):
    ``theta = cov(x, y) / var(x)`` with ``var(x) = (sum_x2 - sum_x^2 / n) / (n - 1)`` and
    ``cov(x, y) = (sum_xy - sum_x sum_y / n) / (n - 1)`` over the pooled units, ignoring the arm
    (gbstats ``compute_theta``); 0 when x or y does not vary over the pooled units (gbstats then
    reverts to the unadjusted test, which theta = 0 reproduces)."""
    n = _a(n)
    sxx, syy = sum_sq_dev(n, sum_x, sum_x2), sum_sq_dev(n, sum_y, sum_y2)
    with np.errstate(invalid="ignore", divide="ignore"):
        sxy = _a(sum_xy) - _a(sum_x) * _a(sum_y) / n
        return np.where((sxx > 0) & (syy > 0), sxy / sxx, 0.0)


@dataclass(frozen=True)
class CupedLift:
    """CUPED-adjusted lift of a treatment over its control (element-wise arrays).

    ``abs_lift``/``abs_var``: the absolute lift and its variance; ``rel_lift``/``rel_var``: the
    lift relative to the control's *unadjusted* mean and its delta-method variance;
    ``var_mean_c``/``var_mean_t``: each arm's adjusted variance of the mean (for Welch df)."""

    abs_lift: np.ndarray
    abs_var: np.ndarray
    rel_lift: np.ndarray
    rel_var: np.ndarray
    var_mean_c: np.ndarray
    var_mean_t: np.ndarray


def _moments(n, sum_y, sum_y2, sum_x, sum_x2, sum_xy):
    n = _a(n)
    my, mx = _a(sum_y) / n, _a(sum_x) / n
    syy = sum_sq_dev(n, sum_y, sum_y2) / (n - 1)
    sxx = sum_sq_dev(n, sum_x, sum_x2) / (n - 1)
    sxy = (_a(sum_xy) - n * mx * my) / (n - 1)
    return n, my, mx, syy, sxx, sxy


def cuped_lift(control, treatment, theta) -> CupedLift:
    """Regression adjustment on the pre-period value ``x`` of the metric (CUPED), as gbstats.

    ``control`` and ``treatment`` are each ``(n, sum_y, sum_y2, sum_x, sum_x2, sum_xy)``;
    ``theta`` comes from :func:`cuped_theta` on the pair's pooled sums (one theta per
    treatment-control pair, so with k arms each treatment has its own).

    Estimand: the effect on the mean of y, absolute ``E[Y_t] - E[Y_c]`` and relative
    ``(E[Y_t] - E[Y_c]) / E[Y_c]``. Estimates: ``d = (m_t - theta x_t) - (m_c - theta x_c)``
    (randomisation makes ``E[x_t] = E[x_c]``, so the adjustment removes noise, not effect) with
    variance ``v_t / n_t + v_c / n_c``, ``v = s_y^2 - 2 theta s_xy + theta^2 s_x^2``
    (``= s_y^2 (1 - rho^2)`` at the optimal theta; Deng, Xu, Kohavi & Walker 2013); relative
    ``d / m_c`` with ``m_c``, ``m_t`` the unadjusted post means and the delta-method variance
    of gbstats ``frequentist_variance_relative_cuped``:
    ``v_t / (n_t m_c^2) + (s_yc^2 m_t^2 / m_c^2 - 2 theta s_xyc m_t / m_c + theta^2 s_xc^2) /
    (n_c m_c^2)``. The uncertainty of the estimated theta is ignored (O(1/n))."""
    theta = _a(theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_c, myc, mxc, syyc, sxxc, sxyc = _moments(*control)
        n_t, myt, mxt, syyt, sxxt, sxyt = _moments(*treatment)
        v_c = np.maximum(syyc - 2 * theta * sxyc + theta * theta * sxxc, 0.0)
        v_t = np.maximum(syyt - 2 * theta * sxyt + theta * theta * sxxt, 0.0)
        d = (myt - theta * mxt) - (myc - theta * mxc)
        v_ctrl_rel = (syyc * myt**2 / myc**2 - 2 * theta * sxyc * myt / myc
                      + theta**2 * sxxc) / (n_c * myc**2)
        rel_var = v_t / (n_t * myc**2) + np.maximum(v_ctrl_rel, 0.0)
        return CupedLift(d, v_c / n_c + v_t / n_t, d / myc, rel_var, v_c / n_c, v_t / n_t)
