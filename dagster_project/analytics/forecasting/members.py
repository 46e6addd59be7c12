"""Every member's forecasts from one origin: seasonal naive, Holt-Winters and the global models.

``member_forecasts`` sees the history up to the origin and nothing after it: a fold of the
backtest and the final forecast call it with ``values[:, :origin]``.
"""

from __future__ import annotations

import contextlib
import functools
import time

import numpy as np

from .baselines import ChunkMap, exponential_smoothing, seasonal_naive
from .ensemble import BASELINE
from .global_models import GLOBAL_MEMBERS, global_forecasts
from .settings import ForecastSettings


def member_forecasts(history: np.ndarray, horizon: int, first_weekday: int,
                     settings: ForecastSettings, timings: dict[str, float] | None = None,
                     map_chunks: ChunkMap | None = None) -> dict[str, np.ndarray]:
    """``{member: (series, horizon)}``; NaN rows where a member cannot forecast a series.
    ``timings`` (if given) accumulates each member's seconds (the global members' shared
    feature rows are counted once, as ``features``); ``map_chunks``: where the per-series
    Holt-Winters fits run (``baselines.exponential_smoothing``)."""
    s = settings
    clock = functools.partial(_timed, timings)
    with clock(BASELINE):
        out = {BASELINE: seasonal_naive(history, horizon, s.season)}
    if "ets" in s.members:
        with clock("ets"):
            ets = exponential_smoothing(history, horizon, s.season, s.ets_window,
                                        min_days=s.models.window, damped=s.ets_damped,
                                        n_jobs=s.models.n_jobs, map_chunks=map_chunks)
        out["ets"] = np.maximum(ets, 0.0) if s.nonnegative else ets
    glob = tuple(m for m in GLOBAL_MEMBERS if m in s.members)
    out.update(global_forecasts(history, horizon, glob, first_weekday, s.nonnegative,
                                s.models, s.seed, clock))
    return out


@contextlib.contextmanager
def _timed(timings: dict[str, float] | None, name: str):
    """Adds the block's wall time to ``timings[name]``."""
    t0 = time.perf_counter()
    yield
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
