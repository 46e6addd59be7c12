"""Always-valid inference: the two-sided normal-mixture confidence sequence.

For a running estimate ``d_n`` of an effect with standard error ``se_n`` (intrinsic time
``V_n = n`` in units where the variance per unit is 1), the normal-mixture martingale
``M_n = sqrt(rho / (V_n + rho)) exp(S_n^2 / (2 (V_n + rho)))`` (Robbins 1970; Howard, Ramdas,
McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences",
Prop. 3 / eq. (14)) crosses ``1 / alpha`` with probability at most ``alpha`` *ever* (Ville's
inequality). Inverting it gives the interval ``d_n -/+ c_n se_n`` with the multiplier

    c_n = sqrt( (n + rho) / n * log( (n + rho) / (rho alpha^2) ) ).

The mixture variance ``rho`` is tuned so the boundary is tightest at a chosen sample size ``m``
(the planned sample): ``rho = m / (-2 log alpha + log(-2 log alpha + 1))`` (Howard et al. 2021,
Sec. 3.5). At ``n = m`` and ``alpha = 0.05`` that gives ``c = 3.0352`` (not 1.96): the price of
looking every day.

The always-valid p-value is ``p_n = min(1, 1 / M_n)`` with ``S_n = z_n sqrt(n)`` for the
running z statistic ``z_n = d_n / se_n`` (Johari, Koomen, Pekelis & Walsh 2022, "Always valid
inference", Sec. 4): ``P(p_n <= alpha for some n) <= alpha``, so the running minimum over looks is
valid too, and ``p_n < alpha`` exactly when the confidence sequence excludes 0 (both say
``|z_n| > c_n``). Testing ``m`` treatments against one control, each sequence is run at level
``alpha / m`` (Bonferroni, as the planned sample) and the p-value reported is ``min(1, m / M_n)``,
which is below ``alpha`` exactly when the ``alpha / m`` sequence excludes 0. With estimated variances (Welch / delta-method standard errors) the sequence is
the asymptotic confidence sequence of Waudby-Smith et al. (2024), valid as n grows.
"""

from __future__ import annotations

import numpy as np

from .comparison import check_alpha


def mixture_rho(tuning_n, alpha=0.05) -> np.ndarray:
    """Mixture variance (in units of n) that minimises the boundary at ``tuning_n``."""
    ell = -2 * np.log(check_alpha(alpha))
    return np.asarray(tuning_n, dtype=float) / (ell + np.log(ell + 1))


def boundary_multiplier(n, tuning_n, alpha=0.05) -> np.ndarray:
    """``c_n``: half-width of the confidence sequence at sample size ``n`` in standard errors.

    ``n`` and ``tuning_n`` must be in the same units (units per arm, or total); only their ratio
    matters. ``inf`` at ``n = 0``."""
    n = np.asarray(n, dtype=float)
    rho = mixture_rho(tuning_n, alpha)
    a = check_alpha(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.sqrt((n + rho) / n * np.log((n + rho) / (rho * a * a)))
    return np.where(n > 0, c, np.inf)


def log_mixture_martingale(z, n, tuning_n, alpha=0.05) -> np.ndarray:
    """``log M_n = log(rho / (n + rho)) / 2 + z^2 n / (2 (n + rho))`` for the running z statistic
    ``z`` at sample size ``n`` (same units as ``tuning_n``; rho from :func:`mixture_rho`)."""
    n, z = np.asarray(n, dtype=float), np.asarray(z, dtype=float)
    rho = mixture_rho(tuning_n, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * np.log(rho / (n + rho)) + z * z * n / (2 * (n + rho))


def always_valid_p_value(z, n, tuning_n, alpha=0.05, comparisons=1) -> np.ndarray:
    """``min(1, comparisons / M_n)``: the always-valid p-value of the sequence run at level
    ``alpha`` (per comparison) for ``comparisons`` treatments; 1 at ``n = 0``."""
    m = np.asarray(comparisons, dtype=float)
    if np.any(m < 1):
        raise ValueError("comparisons: the number of treatments tested must be >= 1")
    log_m = log_mixture_martingale(z, n, tuning_n, alpha)
    return np.where(np.asarray(n) > 0, np.minimum(1.0, np.exp(np.log(m) - log_m)), 1.0)
