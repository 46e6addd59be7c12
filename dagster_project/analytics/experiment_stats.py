"""Frequentist and Bayesian comparisons of two arms from sufficient statistics.

Every function takes numpy arrays (any shape, broadcast together) so that one call compares any
number of experiments x metrics x variants; nothing loops over rows. An arm is summarised by the
estimate of its metric (``mean``) and the sampling variance of that estimate (``var_mean``,
the squared standard error); the per-metric helpers below turn sufficient statistics (n, sums,
sums of squares and cross-products) into that pair.

References: Welch (1947) and Satterthwaite (1946) for the unequal-variance t test; the delta
method for ratios and relative lifts (Deng, Knoblich & Lu 2018, "Applying the delta method in
metric analytics"); CUPED (Deng, Xu, Kohavi & Walker 2013); GrowthBook's gbstats for the published
test vectors and the normal-approximation Bayesian read-out; Holm (1979); Benjamini & Hochberg (1995).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

ArrayLike = np.ndarray | float


def _a(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


# ---------------------------------------------------------------------------------------------
# per-arm estimates from sufficient statistics


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


# ---------------------------------------------------------------------------------------------
# comparison of a treatment with the control


@dataclass(frozen=True)
class Comparison:
    """Treatment versus control, element-wise over the input arrays.

    ``abs_*``: lift ``mu_t - mu_c``; ``rel_*``: relative lift ``mu_t / mu_c - 1``; ``p_value`` tests
    the absolute lift, ``p_value_rel`` the relative one (they differ slightly: different
    linearisations); ``df`` is Welch-Satterthwaite (inf: normal)."""

    abs_lift: np.ndarray
    abs_se: np.ndarray
    abs_ci_low: np.ndarray
    abs_ci_high: np.ndarray
    p_value: np.ndarray
    rel_lift: np.ndarray
    rel_se: np.ndarray
    rel_ci_low: np.ndarray
    rel_ci_high: np.ndarray
    p_value_rel: np.ndarray
    df: np.ndarray


def welch_df(var_mean_c, var_mean_t, n_c, n_t) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom ``(v_c + v_t)^2 / (v_c^2/(n_c-1) + v_t^2/(n_t-1))``."""
    vc, vt = _a(var_mean_c), _a(var_mean_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = (vc + vt) ** 2 / (vc * vc / (_a(n_c) - 1) + vt * vt / (_a(n_t) - 1))
    return np.where(np.isfinite(df) & (df > 0), df, np.inf)


def _two_sided_p(z, df) -> np.ndarray:
    return 2 * stats.t.sf(np.abs(z), df)


def compare(mean_c, var_mean_c, mean_t, var_mean_t, alpha=0.05, df=np.inf) -> Comparison:
    """Absolute and relative lift with (1 - alpha) confidence intervals and two-sided p-values.

    Absolute: ``d = m_t - m_c``, ``se = sqrt(v_t + v_c)``, CI ``d -/+ t_{1-alpha/2, df} se``,
    p from ``d / se`` on ``t_df`` (Welch when ``df`` comes from :func:`welch_df`, else normal).
    Relative (delta method, arms independent): ``r = m_t / m_c - 1``,
    ``se_r^2 = v_t / m_c^2 + m_t^2 v_c / m_c^4``, CI ``r -/+ t se_r``. This is gbstats'
    frequentist relative interval; it assumes the control mean is well away from 0.
    A zero standard error gives p = 1 for a zero lift and 0 otherwise; NaN inputs give NaN."""
    mc, vc, mt, vt = _a(mean_c), _a(var_mean_c), _a(mean_t), _a(var_mean_t)
    df = np.broadcast_to(_a(df), np.broadcast_shapes(mc.shape, mt.shape, _a(df).shape))
    crit = stats.t.ppf(1 - _a(alpha) / 2, df)
    d = mt - mc
    se = np.sqrt(vc + vt)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = mt / mc - 1
        se_r = np.sqrt(vt / mc**2 + mt**2 * vc / mc**4)
        p = np.where(se == 0, np.where(d == 0, 1.0, 0.0), _two_sided_p(d / se, df))
        p_r = np.where(se_r == 0, np.where(r == 0, 1.0, 0.0), _two_sided_p(r / se_r, df))
    return Comparison(d, se, d - crit * se, d + crit * se, p, r, se_r, r - crit * se_r,
                      r + crit * se_r, p_r, np.asarray(df, dtype=float))


# ---------------------------------------------------------------------------------------------
# Bayesian read-out, SRM, multiple testing


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


def srm_chi2(counts: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample-ratio-mismatch test: Pearson chi-square of arm counts against planned weights.

    ``counts`` and ``weights`` are (experiments x arms) arrays (pad missing arms with weight 0
    and count 0); ``X^2 = sum_i (n_i - N w_i)^2 / (N w_i)`` on ``k - 1`` degrees of freedom, k the
    number of arms with positive weight. Returns (statistic, p-value)."""
    counts, weights = _a(counts), _a(weights)
    total = counts.sum(axis=-1, keepdims=True)
    w = weights / weights.sum(axis=-1, keepdims=True)
    expected = total * w
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(expected > 0, (counts - expected) ** 2 / expected, 0.0)
    stat = terms.sum(axis=-1)
    k = (weights > 0).sum(axis=-1)
    return stat, stats.chi2.sf(stat, np.maximum(k - 1, 1))


def holm(p) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values: ``max_{j<=i} min(1, (m - j + 1) p_(j))`` in sorted order."""
    p = _a(p)
    order = np.argsort(p, kind="stable")
    m = p.size
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate):
    ``min_{j>=i} min(1, m p_(j) / j)`` in sorted order."""
    p = _a(p)
    order = np.argsort(p, kind="stable")
    m = p.size
    adj = np.minimum.accumulate((m * p[order] / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out
