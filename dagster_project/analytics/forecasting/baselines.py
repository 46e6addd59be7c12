"""The statistical members: seasonal naive and exponential smoothing.

- Seasonal naive (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed.,
  section 5.2): ``yhat_{T+h} = y_{T+h-m*ceil(h/m)}``, the last observed season repeated. It is
  every forecast's baseline and the fallback of series too short for the other members.
- Exponential smoothing: statsmodels' ``ExponentialSmoothing`` (Holt-Winters, additive
  seasonality of period m, optionally an additive damped trend; smoothing parameters by
  maximum likelihood with heuristic initial states), fitted on the last ``window`` days of each
  series, which must hold at least ``min_days``. Series are fitted in chunks, in parallel with
  joblib, or by a ``ChunkMap`` given (Spark's executors: ``warehouse.spark_fanout``).
  Series it cannot fit (too short, or the optimiser fails) get NaN forecasts: the ensemble
  then falls back to the other members (see ``ensemble.combine``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from joblib import Parallel, delayed

# map(fn, items) -> [fn(item) for item in items], in order, wherever it runs them
ChunkMap = Callable[[Callable, list], list]


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """``(series, horizon)`` forecasts from ``history`` (series x days, NaN before the start):
    NaN for a series without a full last season."""
    if horizon < 1 or season < 1:
        raise ValueError(f"horizon and season must be >= 1, got {horizon}, {season}")
    last = history[:, -season:]
    return last[:, (np.arange(horizon) % season)] if history.shape[1] >= season else np.full(
        (history.shape[0], horizon), np.nan)


def _ets_one(y: np.ndarray, horizon: int, season: int, damped: bool) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on flat or intermittent series
        try:
            fit = ExponentialSmoothing(
                y, trend="add" if damped else None, damped_trend=damped, seasonal="add",
                seasonal_periods=season, initialization_method="heuristic").fit(use_brute=False)
            out = np.asarray(fit.forecast(horizon), dtype=float)
        except (ValueError, np.linalg.LinAlgError):
            return np.full(horizon, np.nan)
    return out if np.all(np.isfinite(out)) else np.full(horizon, np.nan)


def _ets_chunk(work: tuple[list[np.ndarray], int, int, bool]) -> np.ndarray:
    rows, horizon, season, damped = work
    return np.array([_ets_one(y, horizon, season, damped) for y in rows]).reshape(-1, horizon)


def exponential_smoothing(history: np.ndarray, horizon: int, season: int, window: int,
                          min_days: int, damped: bool = False, n_jobs: int = 1,
                          map_chunks: ChunkMap | None = None) -> np.ndarray:
    """``(series, horizon)`` Holt-Winters forecasts; NaN rows for series it does not fit. The
    series go in ``4 x n_jobs`` chunks to ``map_chunks`` if given, else to joblib's processes."""
    if min_days < 2 * season + 1:
        raise ValueError(f"min_days must be >= 2 x season + 1 = {2 * season + 1}, got {min_days}")
    recent = history[:, -window:]
    lengths = np.sum(~np.isnan(recent), axis=1)
    fit = np.flatnonzero(lengths >= min_days)
    out = np.full((history.shape[0], horizon), np.nan)
    if fit.size == 0:
        return out
    series = [recent[i, recent.shape[1] - lengths[i]:] for i in fit]
    chunks = np.array_split(np.arange(fit.size), max(1, min(n_jobs * 4, fit.size)))
    work = [([series[j] for j in c], horizon, season, damped) for c in chunks]
    if map_chunks is not None:
        parts = map_chunks(_ets_chunk, work)
    elif n_jobs > 1 and fit.size >= 50:
        parts = Parallel(n_jobs=n_jobs)(delayed(_ets_chunk)(w) for w in work)
    else:
        parts = [_ets_chunk(w) for w in work]
    out[fit] = np.concatenate(parts)
    return out
