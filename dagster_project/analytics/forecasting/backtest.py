"""Rolling-origin backtest: every member and the ensemble, each against seasonal naive.

With a ``days``-long history and backtest horizon ``H = settings.backtest_horizon(days)``, the
folds' origins are ``days - H - (folds - 1 - k) x fold_step`` (k = 0..folds-1): every fold
forecasts H days that lie inside the history, from what was known at its origin only
(Tashman 2000, "out-of-sample tests of forecasting accuracy"). Per fold the series rules
(``rules``) decide which series are evaluated: status ok and method ``ensemble``.

Per member: MASE (mean over series of the per-series MASE), sMAPE, and cross-fitted conformal
intervals (fold k calibrated on the other folds) with their coverage and MSIS at every level.
The seasonal naive MASE on exactly the cells a member forecast is its yardstick; a member
beats seasonal naive when its MASE is lower. The ensemble of fold k uses weights learned on
the other folds (cross-fitting again), so its figures are out of sample as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baselines import ChunkMap
from .conformal import cross_fitted_quantiles, interval
from .ensemble import BASELINE, combine, eligible, l1_weights
from .members import member_forecasts
from .metrics import nanmean_rows, seasonal_scale, smape_terms, winkler
from .panel import Panel
from .rules import ENSEMBLE, series_status
from .settings import ForecastSettings
from .status import OK

ENSEMBLE_NAME = "ensemble"


@dataclass(frozen=True)
class Backtest:
    origins: tuple[int, ...]  # days of history at each fold's origin
    horizon: int
    forecasts: dict[str, np.ndarray]  # member (and "ensemble") -> folds x series x horizon
    actual: np.ndarray  # folds x series x horizon
    scale: np.ndarray  # folds x series (MASE scale at the origin)
    evaluated: np.ndarray  # folds x series: status ok and method ensemble
    fold_weights: tuple[dict[str, float], ...]  # cross-fitted, per fold
    weights: dict[str, float]  # from every fold: the final forecast's
    mase: dict[str, float]  # pooled over folds
    baseline_mase: dict[str, float]  # seasonal naive on the member's cells

    def scaled_abs_residuals(self, name: str) -> np.ndarray:
        """|y - yhat| / scale on the evaluated cells, NaN elsewhere."""
        with np.errstate(invalid="ignore", divide="ignore"):  # unevaluated cells, masked below
            r = np.abs(self.actual - self.forecasts[name]) / self.scale[:, :, None]
        return np.where(self.evaluated[:, :, None], r, np.nan)


def _pooled_mase(forecast: np.ndarray, actual: np.ndarray, scale: np.ndarray,
                 cells: np.ndarray) -> float:
    """Mean over the (fold, series) rows with cells of their MASE (NaN: no row)."""
    err = np.where(cells, np.abs(actual - forecast), np.nan)
    per = nanmean_rows(err) / scale
    return float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")


def _cells(forecast: np.ndarray, evaluated: np.ndarray) -> np.ndarray:
    """Evaluated rows where the member forecast every horizon (folds x series x horizon)."""
    full = np.all(np.isfinite(forecast), axis=-1, keepdims=True)
    return np.broadcast_to(evaluated[..., None] & full, forecast.shape)


def _member_mase(forecasts, actual, scale, evaluated, folds) -> tuple[dict, dict]:
    mase, base = {}, {}
    for m, f in forecasts.items():
        cells = _cells(f[folds], evaluated[folds])
        mase[m] = _pooled_mase(f[folds], actual[folds], scale[folds], cells)
        base[m] = _pooled_mase(forecasts[BASELINE][folds], actual[folds], scale[folds], cells)
    return mase, base


def _weights(forecasts, actual, scale, evaluated, folds, settings) -> dict[str, float]:
    ok = eligible(*_member_mase(forecasts, actual, scale, evaluated, folds))
    members = [m for m in forecasts if ok[m]]
    mask = evaluated[folds][..., None]
    w = l1_weights({m: np.where(mask, forecasts[m][folds], np.nan) for m in members},
                   np.where(mask, actual[folds], np.nan), scale[folds][..., None], members,
                   settings.max_stack_cells, np.random.default_rng(settings.seed))
    return {m: w.get(m, 0.0) for m in forecasts}


def run_backtest(panel: Panel, settings: ForecastSettings,
                 timings: dict[str, float] | None = None,
                 map_chunks: ChunkMap | None = None) -> Backtest | None:
    """The backtest of ``panel``; None when the history is too short for one (``map_chunks``:
    see ``members.member_forecasts``)."""
    s = settings
    horizon = s.backtest_horizon(panel.days)
    if horizon < 1:
        return None
    origins = tuple(panel.days - horizon - (s.folds - 1 - k) * s.fold_step for k in range(s.folds))
    per_fold, actual, scale, evaluated = [], [], [], []
    for o in origins:
        history = panel.values[:, :o]
        status, method = series_status(history, panel.imputed[:, :o], s.season,
                                       s.models.window, s.max_gap_share)
        per_fold.append(member_forecasts(history, horizon, panel.start.weekday(), s, timings,
                                         map_chunks))
        actual.append(panel.values[:, o:o + horizon])
        scale.append(seasonal_scale(history, s.season))
        evaluated.append((status == OK) & (method == ENSEMBLE))
    forecasts = {m: np.stack([f[m] for f in per_fold]) for m in per_fold[0]}
    actual, scale, evaluated = np.stack(actual), np.stack(scale), np.stack(evaluated)
    all_folds = np.arange(s.folds)
    fold_weights = tuple(_weights(forecasts, actual, scale, evaluated, np.delete(all_folds, k), s)
                         for k in all_folds)
    no_fallback = np.zeros(actual.shape[1], dtype=bool)
    forecasts[ENSEMBLE_NAME] = np.stack([
        combine({m: f[k] for m, f in forecasts.items()}, fold_weights[k], no_fallback)
        for k in all_folds])
    weights = _weights({m: f for m, f in forecasts.items() if m != ENSEMBLE_NAME}, actual,
                       scale, evaluated, all_folds, s)
    mase, base = _member_mase(forecasts, actual, scale, evaluated, all_folds)
    return Backtest(origins, horizon, forecasts, actual, scale, evaluated, fold_weights,
                    weights, mase, base)


def fold_metrics(bt: Backtest, name: str, levels: tuple[float, ...], band: int,
                 nonnegative: bool) -> list[dict]:
    """Rows of analytics.forecast_backtest for one member (or the ensemble): per fold and
    pooled (fold None), per level."""
    f = bt.forecasts[name]
    cells = _cells(f, bt.evaluated)
    abs_res = bt.scaled_abs_residuals(name)
    base = bt.forecasts[BASELINE]
    rows = []
    for level in levels:
        q = cross_fitted_quantiles(np.where(cells, abs_res, np.nan), level, band)
        lower, upper = interval(f, bt.scale[:, :, None], q[:, None, :], nonnegative)
        covered = np.where(cells, (bt.actual >= lower) & (bt.actual <= upper), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):  # cells outside ``cells``: NaN
            score = np.where(cells, winkler(bt.actual, lower, upper, level) / bt.scale[:, :, None],
                             np.nan)
        smape = np.where(cells, smape_terms(bt.actual, f), np.nan)
        for fold in [*range(len(bt.origins)), None]:
            pick = slice(None) if fold is None else slice(fold, fold + 1)
            c = cells[pick]
            n_series = int(np.any(c, axis=-1).sum())
            member = _pooled_mase(f[pick], bt.actual[pick], bt.scale[pick], c)
            yard = _pooled_mase(base[pick], bt.actual[pick], bt.scale[pick], c)
            finite_q = np.isfinite(q[pick]).all()
            rows.append({
                "member": name, "fold": None if fold is None else fold + 1,
                "origin_index": None if fold is None else bt.origins[fold],
                "level": level, "series": n_series,
                "mase": member if n_series else None,
                "smape": float(np.nanmean(smape[pick])) if n_series else None,
                "coverage": float(np.nanmean(covered[pick])) if n_series and finite_q else None,
                "msis": float(np.nanmean(score[pick])) if n_series and finite_q else None,
                "seasonal_naive_mase": yard if n_series else None,
                "status": OK if n_series and finite_q else (
                    "no_series" if not n_series else "too_few_residuals"),
            })
    return rows
