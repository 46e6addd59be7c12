"""Features of the global (cross-series) members, known at the forecast origin.

Direct multi-horizon design: one row per (series i, origin t, horizon h) says what was known
at the end of day t and asks for ``y[i, t + h]``. Every feature reads days ``<= t`` only (the
leakage test perturbs later days and checks that nothing changes). Values are divided by the
series' level ``s = mean |y|`` over the last ``window`` days, so that one model serves series
of any size; the target is ``y[t + h] / s`` and a prediction is multiplied back by ``s``.

Features (``FEATURES``): the level's logarithm; the means of the last 7 and 14 days, the
standard deviation and the share of zero days over ``window`` days, the last value and the
14-day trend (mean of the last 14 days minus the 14 before), all over ``s``; the seasonal
naive value for the target day and the mean of the last four same-weekday values before it
(over ``s``); the horizon h and the target day's weekday (calendar). The series' integer code
is the extra categorical feature of LightGBM. A row needs a full ``window`` of history (no NaN)
and ``s > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURES = ("log_level", "mean_7", "mean_14", "sd_window", "zero_share", "last", "trend_14",
            "seasonal_naive", "same_weekday_mean_4", "horizon", "target_weekday")


_SCALED = np.array([True, True, True, False, True, True])  # zero_share is a share already


@dataclass(frozen=True)
class Rows:
    """Feature rows: ``x`` (rows x FEATURES), the series code, the level, the target day."""

    x: np.ndarray
    series: np.ndarray
    level: np.ndarray
    target_index: np.ndarray
    y: np.ndarray | None  # scaled target (training rows only)


def _window_sum(z: np.ndarray, w: int) -> np.ndarray:
    c = np.cumsum(np.pad(z, ((0, 0), (1, 0))), axis=1)
    out = np.full(z.shape, np.nan)
    out[:, w - 1:] = c[:, w:] - c[:, :-w]
    return out


@dataclass(frozen=True)
class OriginStats:
    """Per (series, day) statistics of the days up to and including that day."""

    level: np.ndarray
    per_origin: np.ndarray  # (series, days, 6): FEATURES[1:7], the zero share unscaled
    same_weekday_mean_4: np.ndarray
    values: np.ndarray
    first_weekday: int
    season: int

    @classmethod
    def of(cls, history: np.ndarray, window: int, season: int, first_weekday: int) -> OriginStats:
        if window < 2 * season or window % 2:
            raise ValueError(f"window must be even and >= 2 x season, got {window}")
        seen = ~np.isnan(history)
        z = np.nan_to_num(history)
        full = _window_sum(seen.astype(float), window) == window
        mean = lambda w: _window_sum(z, w) / w
        level = np.where(full, _window_sum(np.abs(z), window) / window, np.nan)
        m_w = mean(window)
        var = np.maximum(_window_sum(z * z, window) / window - m_w ** 2, 0)
        zero = _window_sum((z == 0).astype(float), window) / window
        m14 = mean(14)
        prev14 = np.full_like(m14, np.nan)
        prev14[:, 14:] = m14[:, :-14]
        per = np.stack([mean(7), m14, np.sqrt(var), zero, z, m14 - prev14], axis=2)
        per = np.where(full[:, :, None], per, np.nan)
        same = np.full(z.shape, np.nan)
        k = 4 * season
        if z.shape[1] >= k:
            lagged = [z[:, k - season - j * season: z.shape[1] - j * season] for j in range(4)]
            same[:, k - season:] = np.mean(lagged, axis=0)
        return cls(level, per, same, history, first_weekday, season)

    def rows(self, series: np.ndarray, origin: np.ndarray, horizon: np.ndarray,
             with_target: bool) -> Rows:
        """Rows for the (series, origin, horizon) triples (arrays of equal length)."""
        level = self.level[series, origin]
        seasonal = origin + horizon - self.season * np.ceil(horizon / self.season).astype(int)
        x = np.column_stack([
            np.log(level),
            self.per_origin[series, origin] / np.where(_SCALED, level[:, None], 1.0),
            self.values[series, seasonal] / level,
            self.same_weekday_mean_4[series, seasonal] / level,
            horizon.astype(float),
            ((self.first_weekday + origin + horizon) % 7).astype(float),
        ])
        target = origin + horizon
        y = self.values[series, target] / level if with_target else None
        return Rows(x, series, level, target, y)

    def usable(self) -> np.ndarray:
        """(series, days): a full window and a positive level."""
        return np.isfinite(self.level) & (np.nan_to_num(self.level) > 0)


def training_rows(stats: OriginStats, horizon: int, stride: int, max_rows: int,
                  rng: np.random.Generator) -> Rows:
    """Rows whose target day is inside the history: origins every ``stride`` days back from
    the day before the last, horizons 1..``horizon``; a seeded sample of ``max_rows``.

    The candidates, in order, are every (series, origin, horizon) with a usable origin and
    the target day in the history (series first, then origin, then horizon). They are never
    listed: each (series, origin) cell holds the horizons 1..k, so the sample is drawn as
    positions in that order and each position is mapped back to its cell through the cells'
    running counts. Memory follows the cells and the sample, not series x origins x horizons
    (3.9 GB at the large panel)."""
    days = stats.level.shape[1]
    origins = np.arange(days - 2, -1, -stride)
    horizons = np.minimum(horizon, days - 1 - origins)  # per origin: targets up to the last day
    counts = np.where(stats.usable()[:, origins], horizons, 0).ravel()  # cells, series first
    ends = np.cumsum(counts)
    total = int(ends[-1]) if ends.size else 0
    if total > max_rows:
        positions = np.sort(rng.choice(total, size=max_rows, replace=False))
    else:
        positions = np.arange(total)
    cell = np.searchsorted(ends, positions, side="right")
    s, o = np.divmod(cell, origins.size)
    h = positions - (ends[cell] - counts[cell]) + 1
    return stats.rows(s, origins[o], h, with_target=True)


def prediction_rows(stats: OriginStats, horizon: int) -> Rows:
    """Rows at the last day of the history for every usable series, horizons 1..horizon."""
    _n, days = stats.level.shape
    usable = np.flatnonzero(stats.usable()[:, days - 1])
    s, h = (a.ravel() for a in np.meshgrid(usable, np.arange(1, horizon + 1), indexing="ij"))
    return stats.rows(s, np.full(s.size, days - 1), h, with_target=False)
