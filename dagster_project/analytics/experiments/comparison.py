"""Treatment versus control from per-arm estimates: absolute and relative lift, intervals, p-values.

References: Welch (1947) and Satterthwaite (1946) for the unequal-variance t test; the delta
method for relative lifts (Deng, Knoblich & Lu 2018); GrowthBook's gbstats for the published test
vectors and for refusing degenerate comparisons (a zero control mean, a zero variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .estimates import _a
from .status import first_status


def check_alpha(alpha, name: str = "alpha") -> np.ndarray:
    """``alpha`` as an array; ValueError unless every value lies in (0, 1)."""
    a = _a(alpha)
    if not np.all((a > 0) & (a < 1)):
        raise ValueError(f"{name}: the significance level must lie in (0, 1); got "
                         f"{a[~((a > 0) & (a < 1))][:3]}")
    return a


@dataclass(frozen=True)
class Comparison:
    """Treatment versus control, element-wise over the input arrays.

    ``abs_*``: lift ``mu_t - mu_c``; ``rel_*``: relative lift ``(mu_t - mu_c) / mu_c``;
    ``p_value`` tests the absolute lift, ``p_value_rel`` the relative one (they differ slightly:
    different linearisations); ``df`` is Welch-Satterthwaite (inf: normal). ``status`` is ``ok``
    or the code (:mod:`.status`) that makes the comparison undefined, ``status_message`` says
    why; every statistic of a non-ok element is NaN."""

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
    status: np.ndarray
    status_message: np.ndarray


def welch_df(var_mean_c, var_mean_t, n_c, n_t) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom ``(v_c + v_t)^2 / (v_c^2/(n_c-1) + v_t^2/(n_t-1))``."""
    vc, vt = _a(var_mean_c), _a(var_mean_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = (vc + vt) ** 2 / (vc * vc / (_a(n_c) - 1) + vt * vt / (_a(n_t) - 1))
    return np.where(np.isfinite(df) & (df > 0), df, np.inf)


def _two_sided_p(z, df) -> np.ndarray:
    return 2 * stats.t.sf(np.abs(z), df)


def plain_moments(mean_c, var_mean_c, mean_t, var_mean_t):
    """(absolute lift, its variance, relative lift, its variance) of independent arms.

    Absolute: ``d = m_t - m_c``, ``Var(d) = v_t + v_c``. Relative (delta method): ``r = m_t / m_c
    - 1``, ``Var(r) = v_t / m_c^2 + m_t^2 v_c / m_c^4`` (gbstats' frequentist relative interval;
    it assumes the control mean is well away from 0)."""
    mc, vc, mt, vt = _a(mean_c), _a(var_mean_c), _a(mean_t), _a(var_mean_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        return mt - mc, vc + vt, mt / mc - 1, vt / mc**2 + mt**2 * vc / mc**4


def compare(mean_c, var_mean_c, mean_t, var_mean_t, alpha=0.05, df=np.inf) -> Comparison:
    """Absolute and relative lift (:func:`plain_moments`) with (1 - alpha) confidence intervals
    and two-sided p-values (:func:`compare_moments`)."""
    d, v, r, vr = plain_moments(mean_c, var_mean_c, mean_t, var_mean_t)
    return compare_moments(d, v, r, vr, mean_c, var_mean_c, var_mean_t, alpha, df)


def compare_moments(abs_lift, abs_var, rel_lift, rel_var, baseline, var_mean_c, var_mean_t,
                    alpha=0.05, df=np.inf) -> Comparison:
    """Intervals and p-values from a lift's point estimates and variances.

    CI ``d -/+ t_{1-alpha/2, df} se`` and p from ``d / se`` on ``t_df`` (Welch when ``df`` comes
    from :func:`welch_df`, else normal), for the absolute and the relative lift alike.
    ``baseline`` is the control's (unadjusted) mean, ``var_mean_c``/``var_mean_t`` each arm's
    variance of the mean. Refused, as gbstats does, with status ``zero_baseline`` when the
    baseline is 0 or negative and ``zero_variance`` when either arm's variance is 0
    (``missing_stats`` for NaN inputs). ValueError when alpha is outside (0, 1)."""
    alpha = check_alpha(alpha)
    d, v, r, vr = _a(abs_lift), _a(abs_var), _a(rel_lift), _a(rel_var)
    base, vc, vt = _a(baseline), _a(var_mean_c), _a(var_mean_t)
    shape = np.broadcast_shapes(d.shape, v.shape, r.shape, vr.shape, base.shape, vc.shape,
                                vt.shape, alpha.shape, np.shape(df))
    finite = np.isfinite(d) & np.isfinite(v) & np.isfinite(base) & np.isfinite(vc) & np.isfinite(vt)
    status, message = first_status(
        (~finite, "missing_stats", "a mean, a lift or a variance is not a finite number"),
        (finite & (base <= 0), "zero_baseline",
         "the control mean is 0 or negative: the relative lift is undefined"),
        (~(vc > 0) | ~(vt > 0) | ~(v > 0) | ~(vr > 0), "zero_variance",
         "an arm's metric does not vary (variance 0): no test is possible"))
    ok = np.broadcast_to(status == "ok", shape)
    df = np.broadcast_to(_a(df), shape)
    crit = stats.t.ppf(1 - alpha / 2, df)
    nan = np.full(shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        se, se_r = np.sqrt(v), np.sqrt(vr)
        p = _two_sided_p(d / se, df)
        p_r = _two_sided_p(r / se_r, df)

    def kept(x):
        return np.where(ok, x, nan)

    return Comparison(kept(d), kept(se), kept(d - crit * se), kept(d + crit * se), kept(p),
                      kept(r), kept(se_r), kept(r - crit * se_r), kept(r + crit * se_r), kept(p_r),
                      np.asarray(df, dtype=float), np.broadcast_to(status, shape),
                      np.broadcast_to(message, shape))
