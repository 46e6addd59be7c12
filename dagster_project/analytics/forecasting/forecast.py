"""A forecast of every series of a panel: the backtest, the ensemble, calibrated intervals.

``forecast_panel`` runs the rolling-origin backtest (``backtest``), learns the ensemble
weights from it (``ensemble``), fits every member once more on the whole history and
forecasts ``H = settings.backtest_horizon(days)`` days (the requested horizon, shortened when
the history cannot calibrate it), with split-conformal intervals per horizon (``conformal``)
from the backtest residuals of the ensemble (seasonal naive's for the series whose rule is
``seasonal_naive``). The coverage stored beside each forecast is the cross-fitted backtest
coverage of that method, horizon and level.

Outputs (polars): ``forecast`` (series x horizon x level; one row with nulls per series whose
status is not ok), ``backtest`` (member x fold x level), ``members`` (per member: backtest
MASE, seasonal naive's on the same cells, their ratio, whether it beats seasonal naive,
its weight and why).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from .backtest import ENSEMBLE_NAME, Backtest, fold_metrics, run_backtest
from .baselines import ChunkMap
from .conformal import cross_fitted_quantiles, horizon_quantiles, interval
from .ensemble import BASELINE, combine
from .members import member_forecasts
from .metrics import seasonal_scale
from .panel import Panel
from .rules import ENSEMBLE, FALLBACK, series_status
from .settings import ForecastSettings
from .status import OK, STATUS_CODES

FORECAST_SCHEMA = {
    "series_id": pl.String, "forecast_date": pl.Date, "horizon_days": pl.Int64,
    "level": pl.Float64, "forecast": pl.Float64, "lower": pl.Float64, "upper": pl.Float64,
    "backtest_coverage": pl.Float64, "method": pl.String, "as_of_date": pl.Date,
    "status": pl.String, "status_message": pl.String}
BACKTEST_SCHEMA = {
    "member": pl.String, "fold": pl.Int64, "origin_date": pl.Date, "horizon_days": pl.Int64,
    "level": pl.Float64, "series": pl.Int64, "mase": pl.Float64, "smape": pl.Float64,
    "coverage": pl.Float64, "msis": pl.Float64, "seasonal_naive_mase": pl.Float64,
    "mase_ratio": pl.Float64, "beats_seasonal_naive": pl.Boolean, "weight": pl.Float64,
    "status": pl.String, "status_message": pl.String}
MEMBER_SCHEMA = {
    "member": pl.String, "backtest_mase": pl.Float64, "seasonal_naive_mase": pl.Float64,
    "mase_ratio": pl.Float64, "beats_seasonal_naive": pl.Boolean, "weight": pl.Float64,
    "weight_reason": pl.String}


@dataclass(frozen=True)
class ForecastResult:
    forecast: pl.DataFrame
    backtest: pl.DataFrame
    members: pl.DataFrame
    horizon: int
    status: str  # ok, or insufficient_history (then every series has that status)
    timings: dict[str, float]


def forecast_panel(panel: Panel, settings: ForecastSettings | None = None,
                   map_chunks: ChunkMap | None = None) -> ForecastResult:
    """Forecast every series of ``panel`` from its last day (see the module docstring);
    default settings when none are given; ``map_chunks``: where the per-series Holt-Winters
    fits run (default: joblib's processes; ``warehouse.spark_fanout.executor_map``: Spark's
    executors)."""
    s = settings or ForecastSettings()
    timings: dict[str, float] = {}
    as_of = panel.start + dt.timedelta(days=panel.days - 1)
    bt = run_backtest(panel, s, timings, map_chunks) if panel.ids else None
    if bt is None:
        return ForecastResult(_no_forecast(panel.ids, "insufficient_history", as_of),
                              pl.DataFrame(schema=BACKTEST_SCHEMA),
                              pl.DataFrame(schema=MEMBER_SCHEMA), 0,
                              "insufficient_history" if panel.ids else OK, timings)
    history = panel.values
    status, method = series_status(history, panel.imputed, s.season, s.models.window,
                                   s.max_gap_share)
    members = member_forecasts(history, bt.horizon, panel.start.weekday(), s, timings,
                               map_chunks)
    point = combine(members, bt.weights, method == FALLBACK)
    scale = seasonal_scale(history, s.season)
    rows = [_no_forecast([panel.ids[i] for i in np.flatnonzero(status != OK)], status[status != OK],
                         as_of)]
    ok = np.flatnonzero(status == OK)
    for level in s.levels:
        q, coverage = {}, {}
        for name, m in ((ENSEMBLE, ENSEMBLE_NAME), (FALLBACK, BASELINE)):
            res = bt.scaled_abs_residuals(m)
            q[name] = horizon_quantiles(res, level, s.band)
            coverage[name] = _coverage(bt, m, res, level, s)
        qs = np.where((method == FALLBACK)[:, None], q[FALLBACK], q[ENSEMBLE])
        cov = np.where((method == FALLBACK)[:, None], coverage[FALLBACK], coverage[ENSEMBLE])
        lower, upper = interval(point, scale[:, None], qs, s.nonnegative)
        rows.append(_forecast_rows(panel, ok, point, lower, upper, cov, method, level, as_of))
    return ForecastResult(pl.concat(rows).sort("series_id", "horizon_days", "level"),
                          _backtest_frame(bt, panel, s), _member_frame(bt), bt.horizon, OK,
                          timings)


def _coverage(bt: Backtest, name: str, res: np.ndarray, level: float,
              s: ForecastSettings) -> np.ndarray:
    """Cross-fitted coverage per horizon of ``name``'s intervals in the backtest."""
    q = cross_fitted_quantiles(res, level, s.band)
    covered = np.where(np.isnan(res), np.nan, res <= q[:, None, :])
    count = np.sum(~np.isnan(covered), axis=(0, 1))
    with np.errstate(invalid="ignore"):
        out = np.nansum(covered, axis=(0, 1)) / count
    return np.where((count > 0) & np.isfinite(q).all(axis=0), out, np.nan)


def _forecast_rows(panel, ok, point, lower, upper, coverage, method, level, as_of):
    h = point.shape[1]
    idx = np.repeat(ok, h)
    hz = np.tile(np.arange(1, h + 1), ok.size)
    good = np.isfinite(upper[idx, hz - 1]) & np.isfinite(coverage[idx, hz - 1])
    code = np.where(good, OK, "too_few_residuals")
    keep = lambda a: np.where(good, a, np.nan)
    return pl.DataFrame({
        "series_id": [panel.ids[i] for i in idx],
        "forecast_date": [as_of + dt.timedelta(days=int(d)) for d in hz],
        "horizon_days": hz, "level": np.full(idx.size, level),
        "forecast": keep(point[idx, hz - 1]), "lower": keep(lower[idx, hz - 1]),
        "upper": keep(upper[idx, hz - 1]), "backtest_coverage": keep(coverage[idx, hz - 1]),
        "method": method[idx].astype(str), "as_of_date": [as_of] * idx.size,
        "status": code, "status_message": [STATUS_CODES[c] for c in code],
    }, schema=FORECAST_SCHEMA).with_columns(
        pl.col("forecast", "lower", "upper", "backtest_coverage").fill_nan(None))


def _no_forecast(ids, status, as_of) -> pl.DataFrame:
    codes = np.broadcast_to(np.asarray(status, dtype=object), (len(ids),))
    return pl.DataFrame({
        "series_id": list(ids), "forecast_date": [None] * len(ids),
        "horizon_days": [None] * len(ids), "level": [None] * len(ids),
        "forecast": [None] * len(ids), "lower": [None] * len(ids), "upper": [None] * len(ids),
        "backtest_coverage": [None] * len(ids), "method": [None] * len(ids),
        "as_of_date": [as_of] * len(ids), "status": list(codes),
        "status_message": [STATUS_CODES[c] for c in codes]}, schema=FORECAST_SCHEMA)


def _member_frame(bt: Backtest) -> pl.DataFrame:
    rows = []
    for m in bt.forecasts:
        mase, base = bt.mase[m], bt.baseline_mase[m]
        beats = bool(np.isfinite(mase) and mase < base)
        weight = None if m == ENSEMBLE_NAME else bt.weights.get(m, 0.0)
        if m == ENSEMBLE_NAME:
            reason = "the combination (cross-fitted weights in the backtest)"
        elif m == BASELINE:
            reason = "the baseline: always eligible; weight from L1 stacking"
        elif not beats:
            reason = "weight 0: its backtest MASE does not beat seasonal naive"
        elif weight == 0:
            reason = "eligible; L1 stacking gave it weight 0"
        else:
            reason = "eligible (beats seasonal naive); weight from L1 stacking"
        rows.append({"member": m, "backtest_mase": mase, "seasonal_naive_mase": base,
                     "mase_ratio": mase / base if base and np.isfinite(base) else None,
                     "beats_seasonal_naive": beats, "weight": weight, "weight_reason": reason})
    return pl.DataFrame(rows, schema=MEMBER_SCHEMA).with_columns(
        pl.col(pl.Float64).fill_nan(None))


def _backtest_frame(bt: Backtest, panel: Panel, s: ForecastSettings) -> pl.DataFrame:
    rows = []
    for m in bt.forecasts:
        for r in fold_metrics(bt, m, s.levels, s.band, s.nonnegative):
            ok = r["status"] == OK
            origin = r.pop("origin_index")
            r["origin_date"] = None if origin is None else (
                panel.start + dt.timedelta(days=origin - 1))
            r["horizon_days"] = bt.horizon
            r["mase_ratio"] = r["mase"] / r["seasonal_naive_mase"] if ok and r[
                "seasonal_naive_mase"] else None
            r["beats_seasonal_naive"] = (r["mase"] < r["seasonal_naive_mase"]) if ok else None
            r["weight"] = bt.weights.get(m) if m != ENSEMBLE_NAME else None
            r["status_message"] = STATUS_CODES[r["status"]]
            if not ok:
                r.update({k: None for k in ("mase", "smape", "coverage", "msis",
                                            "seasonal_naive_mase")})
            rows.append(r)
    return pl.DataFrame(rows, schema=BACKTEST_SCHEMA).with_columns(
        pl.col(pl.Float64).fill_nan(None))
