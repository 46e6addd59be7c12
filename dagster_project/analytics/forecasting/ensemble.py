"""Ensemble weights learned from the backtest, and the combination of member forecasts.

Weights (L1 stacking, as Breiman's 1996 stacked regressions with the absolute loss): the
weights ``w >= 0, sum w = 1`` minimising the summed scaled absolute error
``sum_r |y_r - sum_m w_m f_rm| / scale_r`` over the backtest cells where every eligible member
forecast (a linear programme, solved by HiGHS through ``scipy.optimize.linprog``; at most
``max_cells`` cells, a seeded sample, enter it). A member is eligible only if its backtest MASE
is below the seasonal naive one on the same series; the others get weight 0, and the reason
is reported. Seasonal naive is always eligible, so the weights always exist.

Combination: per series, the weights of the members that have a forecast for it, renormalised;
a series whose rule says ``seasonal_naive`` (too short for the other members) gets the seasonal
naive forecast alone.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, sparse

BASELINE = "seasonal_naive"


def eligible(mase: dict[str, float], baseline_mase: dict[str, float]) -> dict[str, bool]:
    """Members whose backtest MASE is below seasonal naive's on the same cells
    (``baseline_mase[m]``); the baseline itself always is."""
    return {m: m == BASELINE or bool(np.isfinite(v) and v < baseline_mase[m])
            for m, v in mase.items()}


def l1_weights(forecasts: dict[str, np.ndarray], actual: np.ndarray, scale: np.ndarray,
               members: list[str], max_cells: int, rng: np.random.Generator) -> dict[str, float]:
    """Simplex weights of ``members`` minimising the scaled absolute error (see module doc).
    ``forecasts[m]``, ``actual`` and ``scale`` broadcast to one shape; NaN cells are left out."""
    if BASELINE not in members:
        raise ValueError(f"members must include {BASELINE!r}")
    f = np.stack([np.broadcast_to(forecasts[m], actual.shape).ravel() for m in members], axis=1)
    s = np.broadcast_to(scale, actual.shape).ravel()
    y = actual.ravel()
    keep = np.isfinite(y) & np.isfinite(s) & (s > 0) & np.all(np.isfinite(f), axis=1)
    f, y, s = f[keep] / s[keep, None], y[keep] / s[keep], s[keep]
    if y.size == 0:
        return {m: float(m == BASELINE) for m in members}
    if y.size > max_cells:
        pick = np.sort(rng.choice(y.size, size=max_cells, replace=False))
        f, y = f[pick], y[pick]
    n, k = f.shape
    # variables: w (k), e+ (n), e- (n); F w + e+ - e- = y; sum w = 1
    eye = sparse.identity(n, format="csr")
    a_eq = sparse.vstack([sparse.hstack([sparse.csr_matrix(f), eye, -eye]),
                          sparse.hstack([sparse.csr_matrix(np.ones((1, k))),
                                         sparse.csr_matrix((1, 2 * n))])]).tocsr()
    cost = np.concatenate([np.zeros(k), np.ones(2 * n)])
    res = optimize.linprog(cost, A_eq=a_eq, b_eq=np.append(y, 1.0), bounds=(0, None),
                           method="highs")
    if res.status != 0:
        return {m: float(m == BASELINE) for m in members}
    w = np.clip(res.x[:k], 0, None)
    w = w / w.sum()
    return {m: float(v) for m, v in zip(members, w)}


def combine(forecasts: dict[str, np.ndarray], weights: dict[str, float],
            baseline_only: np.ndarray) -> np.ndarray:
    """``(series, horizon)`` ensemble: weights renormalised over the members with a forecast
    for the series; ``baseline_only`` rows (bool per series) get seasonal naive alone."""
    names = [m for m, w in weights.items() if w > 0]
    f = np.stack([forecasts[m] for m in names])  # members x series x horizon
    w = np.array([weights[m] for m in names])[:, None, None]
    have = np.isfinite(f)
    total = np.sum(np.where(have, w, 0.0), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = np.sum(np.where(have, w * np.nan_to_num(f), 0.0), axis=0) / total
    mixed = np.where(total > 0, mixed, forecasts[BASELINE])
    return np.where(baseline_only[:, None], forecasts[BASELINE], mixed)
