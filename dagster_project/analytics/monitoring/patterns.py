"""Typed patterns of flagged points: spike, drop, level shift, trend, recurring.

Flagged points of one (metric, entity, detector) form an *episode* while consecutive flags are
at most ``max_gap_steps`` steps apart. Each episode is classified, in this order:

1. **trend**: at least ``trend_min_points`` points and a Mann-Kendall test of the signed
   deviation ``z`` against time with two-sided p < ``trend_alpha`` whose Theil-Sen slope moves
   away from the expectation (same sign as the deviation): the deviation keeps growing;
2. **level_shift**: at least ``level_shift_min_points`` points (a sustained, flat deviation);
3. **spike** / **drop**: a short episode above / below the expectation (mean z > 0 / < 0);
4. **recurring** replaces spike or drop when at least ``recurring_count`` episodes of that
   pattern on the same series start within ``recurring_window`` of each other.

Mann-Kendall: S = Σ_{i<j} sign(z_j - z_i); with no ties it is Kendall's tau between time and
value, and its normal-approximation p-value is scipy's ``kendalltau(method="asymptotic")``
(Mann 1945, Kendall 1975); slope: Theil-Sen (Sen 1968, ``scipy.stats.theilslopes``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

PATTERNS = ("spike", "drop", "level_shift", "trend", "recurring")
KEY = ["metric", "entity", "detector"]


@dataclass(frozen=True)
class PatternSettings:
    max_gap_steps: int = 3
    trend_min_points: int = 6
    trend_alpha: float = 0.001
    level_shift_min_points: int = 6
    recurring_count: int = 3
    recurring_window: dt.timedelta = dt.timedelta(days=7)

    def __post_init__(self):
        if not 0 < self.trend_alpha < 1:
            raise ValueError(f"trend_alpha must be in (0, 1), got {self.trend_alpha}")
        if min(self.max_gap_steps, self.trend_min_points, self.level_shift_min_points,
               self.recurring_count) < 1:
            raise ValueError("gap, minimum points and recurring_count must be >= 1")


def mann_kendall(z: np.ndarray) -> tuple[float, float, float]:
    """(tau, two-sided p, Theil-Sen slope per step) of ``z`` against its index; NaN p when
    ``z`` is constant or shorter than 3."""
    z = np.asarray(z, dtype=float)
    if z.size < 3 or np.all(z == z[0]):
        return np.nan, np.nan, 0.0
    t = np.arange(z.size)
    tau, p = stats.kendalltau(t, z, method="asymptotic")
    return float(tau), float(p), float(stats.theilslopes(z, t).slope)


def episodes(flags: pl.DataFrame, step: dt.timedelta, settings: PatternSettings) -> pl.DataFrame:
    """``flags`` (metric, entity, detector, ts, z) with an ``episode`` number per run of flags."""
    gap = step * settings.max_gap_steps
    df = flags.sort(*KEY, "ts")
    new = (pl.col("ts").diff().over(KEY) > gap).fill_null(True)
    return df.with_columns(episode=new.cum_sum().cast(pl.Int64))


def classify(flags: pl.DataFrame, step: dt.timedelta,
             settings: PatternSettings = PatternSettings()) -> pl.DataFrame:
    """``flags`` with ``pattern`` and ``episode_end`` (last time of its episode) per row."""
    if flags.height == 0:
        return flags.with_columns(pattern=pl.lit(None, dtype=pl.String),
                                  episode_end=pl.col("ts"))
    df = episodes(flags, step, settings)
    eps = df.group_by("episode", maintain_order=True).agg(
        *[pl.col(c).first() for c in KEY], start=pl.col("ts").min(),
        episode_end=pl.col("ts").max(), n=pl.len(),
        mean_z=pl.col("z").mean(), zs=pl.col("z"))
    long = eps.filter(pl.col("n") >= settings.trend_min_points)
    mk = [mann_kendall(np.asarray(z)) for z in long["zs"].to_list()]  # one test per episode
    trending = long.select("episode").with_columns(
        p=pl.Series([m[1] for m in mk], dtype=pl.Float64),
        slope=pl.Series([m[2] for m in mk], dtype=pl.Float64))
    eps = eps.join(trending, on="episode", how="left").with_columns(pattern=(
        pl.when((pl.col("p") < settings.trend_alpha)
                & (pl.col("slope").sign() == pl.col("mean_z").sign())).then(pl.lit("trend"))
        .when(pl.col("n") >= settings.level_shift_min_points).then(pl.lit("level_shift"))
        .when(pl.col("mean_z") > 0).then(pl.lit("spike")).otherwise(pl.lit("drop"))))
    eps = _recurring(eps, settings)
    return (df.join(eps.select("episode", "pattern", "episode_end"), on="episode")
            .drop("episode").sort(*KEY, "ts"))


def _recurring(eps: pl.DataFrame, s: PatternSettings) -> pl.DataFrame:
    """Spikes and drops of one series of which ``recurring_count`` consecutive ones start
    within ``recurring_window`` become recurring."""
    group = [*KEY, "pattern"]
    n = s.recurring_count
    eps = eps.sort(*group, "start")
    span = pl.col("start").shift(-(n - 1)).over(group) - pl.col("start")
    opens = (span <= s.recurring_window).fill_null(False) & pl.col("pattern").is_in(
        ["spike", "drop"])
    covered = opens.cast(pl.Int8).rolling_max(n, min_samples=1).over(group) == 1
    return eps.with_columns(pattern=pl.when(covered).then(pl.lit("recurring"))
                            .otherwise(pl.col("pattern")))
