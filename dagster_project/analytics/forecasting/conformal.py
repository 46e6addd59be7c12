"""Split-conformal prediction intervals per horizon from rolling-origin backtest residuals.

For a method (a member or the ensemble), the backtest gives scaled absolute residuals
``|y - yhat| / scale`` per fold, series and horizon (``scale``: the series' MASE scale at the
fold's origin, so that series of any size pool). The interval at level L for horizon h is
``yhat +- q_h * scale`` with ``q_h`` the ``ceil((n + 1) L) / n`` empirical quantile of the n
residuals at horizons ``h - band .. h + band`` (split conformal prediction: Vovk et al. 2005;
Lei et al. 2018, with horizon-wise calibration as in Stankeviciute et al. 2021). When
``ceil((n + 1) L) > n`` the quantile is infinite: too few residuals for that level. For
non-negative series the lower end is clipped at 0 (which changes no coverage).

Coverage is measured out of sample by cross-fitting the folds: fold k's intervals use the
residuals of the other folds only.
"""

from __future__ import annotations

import numpy as np


def horizon_quantiles(abs_residuals: np.ndarray, level: float, band: int) -> np.ndarray:
    """``q_h`` per horizon from ``abs_residuals`` (anything x horizons, NaN = not evaluated);
    ``inf`` where the band holds too few residuals for ``level``."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if band < 0:
        raise ValueError(f"band must be >= 0, got {band}")
    r = abs_residuals.reshape(-1, abs_residuals.shape[-1])
    horizons = r.shape[1]
    out = np.full(horizons, np.inf)
    for h in range(horizons):  # one quantile per horizon band, not per data row
        pooled = r[:, max(0, h - band): h + band + 1].ravel()
        pooled = np.sort(pooled[~np.isnan(pooled)])
        k = int(np.ceil((pooled.size + 1) * level))
        if 0 < k <= pooled.size:
            out[h] = pooled[k - 1]
    return out


def cross_fitted_quantiles(abs_residuals: np.ndarray, level: float, band: int) -> np.ndarray:
    """``(folds, horizons)``: fold k's quantiles from the other folds' residuals
    (``abs_residuals``: folds x series x horizons)."""
    folds = abs_residuals.shape[0]
    return np.stack([horizon_quantiles(np.delete(abs_residuals, k, axis=0), level, band)
                     for k in range(folds)])


def interval(point: np.ndarray, scale: np.ndarray, q: np.ndarray, nonnegative: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` = point -+ q x scale (broadcast), lower clipped at 0 if asked."""
    half = q * scale
    lower = point - half
    return (np.maximum(lower, 0.0) if nonnegative else lower), point + half
