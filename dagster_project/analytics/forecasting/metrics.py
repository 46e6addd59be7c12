"""Point and interval accuracy of forecasts, scaled so that series can be pooled.

- MASE (Hyndman & Koehler 2006): mean |y - yhat| over the horizon divided by the in-sample
  MAE of the seasonal naive forecast, ``scale = mean_t |y_t - y_{t-m}|`` over the training
  history (m = the seasonal period, 7 days). MASE < 1 beats the in-sample seasonal naive.
- sMAPE (Makridakis 1993, the M4 form): ``200 / H * sum |y - yhat| / (|y| + |yhat|)``, in
  percent; a day where both are 0 counts as 0 (a perfect forecast of nothing).
- Coverage: the share of actuals inside ``[lower, upper]``.
- Winkler / interval score (Winkler 1972; Gneiting & Raftery 2007, eq. 43) at level 1 - alpha:
  ``(u - l) + 2/alpha (l - y) 1[y < l] + 2/alpha (y - u) 1[y > u]``; divided by the series'
  MASE scale it is the M4 competition's MSIS (Makridakis, Spiliotis & Assimakopoulos 2020).

Inputs are arrays of matching shape; NaN cells (days not evaluated) are ignored.
"""

from __future__ import annotations

import numpy as np


def seasonal_scale(history: np.ndarray, season: int) -> np.ndarray:
    """Per row of ``history`` (series x days, NaN before the start): mean |y_t - y_{t-m}|;
    NaN where fewer than one seasonal difference exists."""
    if season < 1:
        raise ValueError(f"season must be >= 1, got {season}")
    diff = np.abs(history[:, season:] - history[:, :-season])
    count = np.sum(~np.isnan(diff), axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, np.nansum(diff, axis=1) / np.maximum(count, 1), np.nan)


def smape_terms(y: np.ndarray, yhat: np.ndarray) -> np.ndarray:
    """200 |y - yhat| / (|y| + |yhat|) cell by cell, 0 where both are 0."""
    denom = np.abs(y) + np.abs(yhat)
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(denom > 0, 200.0 * np.abs(y - yhat) / denom, 0.0)
    return np.where(np.isnan(y) | np.isnan(yhat), np.nan, terms)


def winkler(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> np.ndarray:
    """The interval score of ``[lower, upper]`` at ``level`` cell by cell (lower is better)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    alpha = 1 - level
    return ((upper - lower) + 2 / alpha * np.maximum(lower - y, 0)
            + 2 / alpha * np.maximum(y - upper, 0))


def nanmean_rows(x: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN; NaN for a row with no value."""
    count = np.sum(~np.isnan(x), axis=-1)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, np.nansum(x, axis=-1) / np.maximum(count, 1), np.nan)
