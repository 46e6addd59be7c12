"""Treatment versus control from per-arm estimates: absolute and relative lift, intervals, p-values.

References: Welch (1947) and Satterthwaite (1946) for the unequal-variance t test; the delta
method for relative lifts (Deng, Knoblich & Lu 2018); GrowthBook's gbstats for the published test
vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .estimates import _a


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
