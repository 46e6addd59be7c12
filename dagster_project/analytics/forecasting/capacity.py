"""Capacity planning: trend forecasts of fleet resources and when they cross their thresholds.

Each resource is one daily series (fleet averages or totals). Two trend models are fitted by
robust regression (statsmodels ``RLM`` with Huber's T norm, so anomaly days weigh little) on
the last ``fit_window`` days, with day-of-week effects:

- ``linear``:       ``y_t = a + b t + weekday_t``
- ``exponential``:  ``log y_t = a + b t + weekday_t`` (only for a positive series)

The model with the lower rolling-origin backtest MASE (folds as in ``backtest``) is used; the
backtest also reports seasonal naive's MASE beside it. Intervals and crossing probabilities
come from the chosen model's signed, scaled backtest residuals ``r = (y - yhat) / scale``
pooled over ``band`` horizons either side (split conformal, see ``conformal``):

- interval at level L: ``yhat +- q_h scale``, ``q_h`` the conformal quantile of ``|r|``;
- P(y_{T+h} >= threshold) = ``(#{r >= (threshold - yhat_h) / scale} + 1) / (n + 1)``, the
  conformal p-value form, never 0 or 1 from a finite sample unless every residual agrees;
- P(crossing by horizon H) = the largest of those over h <= H (exact when the errors along a
  path move together, a lower bound otherwise);
- expected crossing date = the first day on which the point forecast (the fitted trend for
  days of the history) reaches the threshold, searched up to ``search_days`` ahead; null
  when it does not.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from .conformal import horizon_quantiles, interval
from .metrics import seasonal_scale
from .panel import Panel
from .status import OK, STATUS_CODES

THRESHOLDS_PATH = Path(__file__).with_name("capacity_thresholds.yml")
MODELS = ("linear", "exponential")

CAPACITY_SCHEMA = {
    "resource": pl.String, "threshold": pl.Float64, "horizon_days": pl.Int64,
    "forecast_date": pl.Date, "level": pl.Float64, "forecast": pl.Float64,
    "lower": pl.Float64, "upper": pl.Float64, "p_cross_by_horizon": pl.Float64,
    "expected_crossing_date": pl.Date, "days_to_crossing": pl.Int64, "warning": pl.Boolean,
    "model": pl.String, "backtest_mase": pl.Float64, "seasonal_naive_mase": pl.Float64,
    "as_of_date": pl.Date, "status": pl.String, "status_message": pl.String}


@dataclass(frozen=True)
class CapacitySettings:
    horizons: tuple[int, ...] = (30, 60, 90)
    levels: tuple[float, ...] = (0.8, 0.95)
    warning_days: int = 30
    fit_window: int = 120
    folds: int = 3
    fold_step: int = 14
    min_train_days: int = 28
    band: int = 7
    search_days: int = 365
    season: int = 7

    def __post_init__(self):
        if not self.horizons or min(self.horizons) < 1:
            raise ValueError(f"horizons must be >= 1 day, got {self.horizons}")
        if not self.levels or any(not 0 < lv < 1 for lv in self.levels):
            raise ValueError(f"levels must be in (0, 1), got {self.levels}")
        if self.warning_days < 0 or self.search_days < max(self.horizons):
            raise ValueError("warning_days must be >= 0 and search_days >= the longest horizon")
        if self.folds < 1 or self.min_train_days < 2 * self.season:
            raise ValueError("folds must be >= 1 and min_train_days >= 2 x season")


def thresholds(path: str | Path | None = None) -> dict[str, float]:
    """``{resource: threshold}`` from the YAML table (the packaged one by default)."""
    rows = yaml.safe_load(Path(path or THRESHOLDS_PATH).read_text())["thresholds"]
    out = {}
    for r in rows:
        if not {"resource", "threshold"} <= set(r) or not np.isfinite(float(r["threshold"])):
            raise ValueError(f"every threshold row needs a resource and a finite threshold: {r}")
        out[str(r["resource"])] = float(r["threshold"])
    return out


def _design(t: np.ndarray, first_weekday: int) -> np.ndarray:
    weekday = (first_weekday + t) % 7
    dummies = (weekday[:, None] == np.arange(1, 7)[None, :]).astype(float)
    return np.column_stack([np.ones(t.size), t.astype(float), dummies])


def _fit_predict(y: np.ndarray, model: str, first_weekday: int, fit_window: int,
                 ahead: int) -> np.ndarray | None:
    """Fitted values of the last ``fit_window`` days of ``y`` followed by ``ahead`` forecast
    days (aligned with the end of ``y``); None when the model does not apply."""
    import statsmodels.api as sm

    t = np.arange(y.size)[-fit_window:]
    t = t[~np.isnan(y[t])]
    target = y[t]
    if model == "exponential":
        if np.any(target <= 0):
            return None
        target = np.log(target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.RLM(target, _design(t, first_weekday), M=sm.robust.norms.HuberT()).fit()
    grid = np.arange(y.size - fit_window if y.size > fit_window else 0, y.size + ahead)
    pred = _design(grid, first_weekday) @ fit.params
    return np.exp(pred) if model == "exponential" else pred


def _backtest(y: np.ndarray, first_weekday: int, s: CapacitySettings, horizon: int):
    """Per model: (MASE pooled over folds, signed scaled residuals folds x horizon); and
    seasonal naive's MASE."""
    origins = [y.size - horizon - (s.folds - 1 - k) * s.fold_step for k in range(s.folds)]
    out, naive = {}, []
    for model in MODELS:
        res, mase = [], []
        for o in origins:
            pred = _fit_predict(y[:o], model, first_weekday, s.fit_window, horizon)
            if pred is None:
                break
            scale = seasonal_scale(y[None, :o], s.season)[0]
            actual = y[o:o + horizon]
            res.append((actual - pred[-horizon:]) / scale)
            mase.append(np.mean(np.abs(res[-1])))
            if model == MODELS[0]:
                last = y[o - s.season:o]
                naive.append(np.mean(np.abs(actual - last[np.arange(horizon) % s.season])) / scale)
        if len(res) == len(origins):
            out[model] = (float(np.mean(mase)), np.array(res))
    return out, float(np.mean(naive))


def capacity_forecast(panel: Panel, limits: dict[str, float],
                      settings: CapacitySettings | None = None) -> pl.DataFrame:
    """Rows resource x horizon x level (see CAPACITY_SCHEMA and the module docstring)."""
    s = settings or CapacitySettings()
    as_of = panel.start + dt.timedelta(days=panel.days - 1)
    wd = panel.start.weekday()
    top = max(s.horizons)
    rows = []
    for i, resource in enumerate(panel.ids):  # one trend model per resource (a handful)
        y = panel.values[i]
        first = int(np.argmax(~np.isnan(y)))
        y = y[first:]
        threshold = limits.get(resource)
        horizon = min(top, y.size - s.min_train_days - (s.folds - 1) * s.fold_step)
        scale = seasonal_scale(y[None, :], s.season)[0]
        if threshold is None or horizon < 1 or not np.nan_to_num(scale) > 0:
            code = "insufficient_history" if horizon < 1 else "constant"
            if threshold is None:
                continue
            rows.append(_empty(resource, threshold, as_of, code))
            continue
        fits, naive_mase = _backtest(y, (wd + first) % 7, s, horizon)
        model = min(fits, key=lambda m: fits[m][0])
        mase, res = fits[model]
        path = _fit_predict(y, model, (wd + first) % 7, s.fit_window, s.search_days)
        fitted_days = path.size - s.search_days
        ahead = path[fitted_days:]
        crossing = _crossing(path, threshold, as_of, fitted_days)
        res_h = np.full((res.shape[0], top), np.nan)
        res_h[:, :horizon] = res
        p_h = _exceedance(res_h, (threshold - ahead[:top]) / scale, s.band)
        p_by = np.fmax.accumulate(p_h)
        for level in s.levels:
            q = horizon_quantiles(np.abs(res_h), level, s.band)
            lower, upper = interval(ahead[:top], scale, q, nonnegative=False)
            for h in s.horizons:
                ok = np.isfinite(q[h - 1]) and np.isfinite(p_by[h - 1])
                days = None if crossing is None else (crossing - as_of).days
                rows.append({
                    "resource": resource, "threshold": threshold, "horizon_days": h,
                    "forecast_date": as_of + dt.timedelta(days=h), "level": level,
                    "forecast": float(ahead[h - 1]),
                    "lower": float(lower[h - 1]) if ok else None,
                    "upper": float(upper[h - 1]) if ok else None,
                    "p_cross_by_horizon": float(p_by[h - 1]) if ok else None,
                    "expected_crossing_date": crossing, "days_to_crossing": days,
                    "warning": days is not None and days <= s.warning_days,
                    "model": model, "backtest_mase": mase, "seasonal_naive_mase": naive_mase,
                    "as_of_date": as_of, "status": OK if ok else "uncalibrated_horizon",
                    "status_message": STATUS_CODES[OK if ok else "uncalibrated_horizon"]})
    return pl.DataFrame(rows, schema=CAPACITY_SCHEMA) if rows else pl.DataFrame(
        schema=CAPACITY_SCHEMA)


def _crossing(path: np.ndarray, threshold: float, as_of: dt.date, fitted_days: int
              ) -> dt.date | None:
    """First day of ``path`` (fitted days, then forecast days after ``as_of``) at or above
    the threshold."""
    above = np.flatnonzero(path >= threshold)
    if above.size == 0:
        return None
    return as_of + dt.timedelta(days=int(above[0]) - fitted_days + 1)


def _exceedance(res: np.ndarray, z: np.ndarray, band: int) -> np.ndarray:
    """Per horizon, (#{r >= z_h} + 1) / (n + 1) over the residuals of horizons h +- band."""
    out = np.full(res.shape[1], np.nan)
    for h in range(res.shape[1]):  # one probability per horizon
        pooled = res[:, max(0, h - band): h + band + 1].ravel()
        pooled = pooled[~np.isnan(pooled)]
        if pooled.size:
            out[h] = (np.sum(pooled >= z[h]) + 1) / (pooled.size + 1)
    return out


def _empty(resource: str, threshold: float, as_of: dt.date, code: str) -> dict:
    row = {k: None for k in CAPACITY_SCHEMA}
    row.update({"resource": resource, "threshold": threshold, "as_of_date": as_of,
                "status": code, "status_message": STATUS_CODES[code]})
    return row

