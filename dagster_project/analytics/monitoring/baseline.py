"""Seasonal robust baseline: median of the same seasonal slot in earlier periods, corrected
for the recent level, and a robust z-score whose tail probability is the anomaly score.

For a series on a regular grid, with ``y = log1p(value)`` (multiplicative seasonality becomes
additive; every catalog metric is >= 0):

- for each earlier period ``k = 1..K`` (``P`` = one week for hour_of_week / day_of_week, one
  calendar month for day_of_month), the same slot ``y[t - k·P]`` plus the growth since then,
  ``d_k[t] = median(y[s] - y[s - k·P])`` over the last period ``s = t-W .. t-1`` (``W`` steps);
- ``expected_y[t] = median_k (y[t - k·P] + d_k[t])`` over the lags available, at least
  ``min_periods`` of them (each lag corrected on its own, so the baseline does not jump when an
  older period becomes available; with fewer, the point is ``insufficient_history``);
- for bounded metrics (a percentage cannot exceed 100) ``expected_y`` is capped at
  ``log1p(upper)`` (a saturated host at 100 % is not "below its expectation" of 106 %), and the
  growth medians leave out the steps where the value or a lag is within 1 % of the bound
  (saturated values hide the growth of the others);
- ``r = y - expected_y``; ``scale[t] = 1.4826 · median(|r[t-S .. t-1]|)`` over the last
  ``scale_periods`` periods (the MAD, consistent for the normal sd); where it is 0, the
  mean-absolute-deviation fallback ``1.2533 · mean|r|`` (Iglewicz & Hoaglin 1993; the modified
  z-score of IBM SPSS);
- ``z = r / scale`` and ``score = 1 - 2·Φ(-|z|)`` (``calibration.gaussian_score``);
- a point whose scale window is more than half zeros is ``intermittent_series``: a median and
  MAD of mostly-zero counts (a client's daily revenue) would flag every active day.

Short-history fallback (hourly and finer grains; ``fallback_days`` = D, 7 by default): a point
of an entity's first ``min_periods + 1`` periods that the seasonal baseline cannot score (fewer
than ``min_periods`` earlier periods, or no scale yet: the first two weeks of an hourly series)
is compared with the same time of day on each of the D earlier days, all of them present:

- ``expected_y[t] = clip(y[t], min_j y[t - j·day], max_j y[t - j·day])``, j = 1..D: the
  nearest of those values. With under two weeks the kind of day a point should resemble (a
  weekday, a weekend day, a holiday) is unknown, so a point is anomalous only when it is unlike
  every earlier day; D = 7 puts every day of the week in the range (a week is the seasonal
  period of every sub-daily catalog series), so a first Saturday is not a drop against the
  weekdays before it;
- ``scale[t] = 1.4826 · median|y[s] - y[s - day]|`` over the D days before ``t`` (at least
  one day of them; the mean-absolute-deviation fallback where it is 0): the residual is the
  difference of two points, one of them an earlier day's, and so is a day-over-day change;
- ``zero_share`` over the same D days; z, score, flag and statuses as above.

The range and the scale come from earlier days only; the point picks which end of the range
is nearest, never the range. The range is not robust to an earlier anomaly at the same time of
day: that widens it, which can hide a repeat (lower recall) but never makes a point look more
anomalous. Daily series keep the warm-up: their period (a week, a month) has no shorter cycle
to fall back on.

Below hourly grain the window statistics use every ``steps // 168``-th step of the window (a
systematic sample: 168 points a period, the hourly resolution) and are refreshed at those
steps. Every window ends at ``t - 1`` and every lag is >= one period: the tested point is never part
of its own baseline, so the hourly run (scoring new hours against a bounded history) gives the
same numbers as the nightly rebuild. Assumes residuals are roughly symmetric and light-tailed
on the log scale; robust to up to half of a window being anomalous.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from .calibration import gaussian_score

STEP_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MAD_TO_SD = 1.4826
MEAN_AD_TO_SD = 1.2533
SATURATED = 0.99  # share of the upper bound from which a value counts as saturated
MAX_ZERO_SHARE = 0.5  # above: an intermittent series (most steps 0), not scored
MAX_WINDOW_POINTS = 168  # finer grains estimate window statistics on a systematic sample


@dataclass(frozen=True)
class BaselineSettings:
    periods: int = 4  # earlier seasonal periods whose same slot is the baseline (K)
    scale_periods: int = 4  # periods of residuals the scale is estimated on
    min_periods: int = 2  # earlier periods a point needs to be scored
    fallback_days: int = 7  # earlier days of the short-history fallback (0: no fallback)

    def __post_init__(self):
        if self.periods < 1 or self.scale_periods < 1:
            raise ValueError("periods and scale_periods must be >= 1")
        if not 1 <= self.min_periods <= self.periods:
            raise ValueError(f"min_periods must be in [1, periods], got {self.min_periods}")
        if self.fallback_days < 0:
            raise ValueError(f"fallback_days must be >= 0, got {self.fallback_days}")


def period_steps(seasonality: str, grain: str) -> int:
    """Steps in one seasonal period (a month counts as 30 days for the rolling windows)."""
    if grain not in STEP_SECONDS:
        raise ValueError(f"grain must be one of {sorted(STEP_SECONDS)}, got {grain!r}")
    days = {"hour_of_week": 7, "day_of_week": 7, "day_of_month": 30}
    if seasonality not in days:
        raise ValueError(f"seasonality must be one of {sorted(days)}, got {seasonality!r}")
    return days[seasonality] * 86400 // STEP_SECONDS[grain]


def _lagged(df: pl.DataFrame, seasonality: str, steps: int, k: int) -> pl.Expr | pl.DataFrame:
    if seasonality != "day_of_month":  # fixed-length period: a shift on the regular grid
        return pl.col("y").shift(k * steps).over("entity")
    # the same day k months earlier; Jan 28..31 all land on Feb 28: the 28th is its slot
    lag = df.select("entity", ts=pl.col("ts").dt.offset_by(f"{k}mo"), **{f"y{k}": "y"}).unique(
        ["entity", "ts"], keep="first", maintain_order=True)
    return df.join(lag, on=["entity", "ts"], how="left", maintain_order="left")[f"y{k}"]


def _trailing(df: pl.DataFrame, stats: dict[str, tuple[pl.Expr, str]], window: int,
              min_samples: int, stride: int) -> pl.DataFrame:
    """``df`` with one column per ``stats`` entry (name -> (input, "median" | "mean")): the
    statistic of the input over the ``window`` steps before each row, within its entity.

    With ``stride`` > 1 (minute grain) it is computed on every ``stride``-th step (a
    systematic sample of the window, ``window / stride`` points) and holds until the next
    sampled step; with ``stride`` 1 it is exact. Either way only earlier rows are read."""
    names = list(stats)
    df = df.with_columns(_i=pl.int_range(pl.len()).over("entity"),
                         **{f"_in_{n}": e for n, (e, _) in stats.items()})
    sub = df.filter(pl.col("_i") % stride == 0).select("entity", "_i", *[
        getattr(pl.col(f"_in_{n}"), f"rolling_{how}")(
            max(1, window // stride), min_samples=max(1, min_samples // stride))
        .over("entity").fill_null(np.nan).alias(n)  # NaN: sampled, too few points
        for n, (_, how) in stats.items()])
    df = df.join(sub, on=["entity", "_i"], how="left", maintain_order="left")
    return df.with_columns([pl.col(n).shift(1).forward_fill().over("entity").fill_nan(None)
                            for n in names]).drop("_i", *[f"_in_{n}" for n in names])


def upper_bound(metric: str) -> float | None:
    """The largest value ``metric`` can take: 100 for the catalog's percentages (``*_pct``)."""
    return 100.0 if metric.endswith("_pct") else None


def _daily_fallback(df: pl.DataFrame, grain: str, steps: int, settings: BaselineSettings,
                    stride: int, read_from: dt.datetime | None) -> pl.DataFrame:
    """``df`` with ``expected_y``, ``scale`` and ``zero_share`` filled, where the seasonal
    baseline left them null in an entity's first ``min_periods + 1`` periods, by the
    short-history fallback of the module docstring (one day as the period). An entity whose
    first step is at ``read_from`` has a history cut by the read, not a short one: no
    fallback (the hourly run's bounded read would otherwise score its oldest days twice)."""
    day, days = 86400 // STEP_SECONDS[grain], settings.fallback_days
    head = df.filter(pl.col("_row") < (settings.min_periods + 1) * steps)
    if read_from is not None:
        head = head.filter(pl.col("ts").min().over("entity") > read_from)
    lags = [pl.col("y").shift(j * day).over("entity") for j in range(1, days + 1)]
    complete = pl.sum_horizontal([lag.is_not_null() for lag in lags]) == days
    head = head.with_columns(fb_expected_y=pl.when(complete).then(pl.col("y").clip(
        pl.min_horizontal(lags), pl.max_horizontal(lags))))
    change = (pl.col("y") - pl.col("y").shift(day).over("entity")).abs()
    head = _trailing(head, {"fb_mad": (change, "median"), "fb_mean_ad": (change, "mean"),
                            "fb_zero_share": ((pl.col("value") == 0).cast(pl.Float64), "mean")},
                     days * day, day, stride)
    head = head.with_columns(fb_scale=pl.when(pl.col("fb_mad") > 0)
                             .then(MAD_TO_SD * pl.col("fb_mad"))
                             .otherwise(MEAN_AD_TO_SD * pl.col("fb_mean_ad")))
    df = df.join(head.select("entity", "_row", "fb_expected_y", "fb_scale", "fb_zero_share"),
                 on=["entity", "_row"], how="left", maintain_order="left")
    seasonal = pl.col("expected_y").is_not_null() & pl.col("scale").is_not_null()
    return df.with_columns([pl.when(seasonal).then(pl.col(c)).otherwise(pl.col(f"fb_{c}"))
                            .alias(c) for c in ("expected_y", "scale", "zero_share")]).drop(
        "fb_expected_y", "fb_scale", "fb_zero_share")


def robust_baseline(series: pl.DataFrame, grain: str, seasonality: str,
                    settings: BaselineSettings = BaselineSettings(),
                    upper: float | None = None,
                    read_from: dt.datetime | None = None) -> pl.DataFrame:
    """``series`` (entity, ts, value; a regular grid, see ``series.regular_grid``) with
    ``expected`` (value units), ``scale`` and ``z`` (log1p units), ``score`` in [0, 1] and
    ``status`` per row (``ok``, ``insufficient_history``, ``constant_series``,
    ``intermittent_series``, ``no_data``). ``read_from``: the time ``series`` was read from
    when its history is bounded (``history_start``); None: the whole history."""
    steps = period_steps(seasonality, grain)
    min_samples = max(3, steps // 7)
    df = series.sort("entity", "ts").with_columns(y=pl.col("value").log1p(),
                                                  _row=pl.int_range(pl.len()).over("entity"))
    ks = range(1, settings.periods + 1)
    df = df.with_columns([_lagged(df, seasonality, steps, k).alias(f"lag{k}") for k in ks])
    near = float(np.log1p(SATURATED * upper)) if upper is not None else np.inf
    stride = max(1, steps // MAX_WINDOW_POINTS)
    # a difference touching a saturated value says nothing about growth
    df = _trailing(df, {f"d{k}": (pl.when((pl.col("y") < near) & (pl.col(f"lag{k}") < near))
                                  .then(pl.col("y") - pl.col(f"lag{k}")), "median")
                        for k in ks}, steps, min_samples, stride)
    terms = pl.concat_list([pl.col(f"lag{k}") + pl.col(f"d{k}") for k in ks])
    expected_y = terms.list.median()
    if upper is not None:
        expected_y = pl.min_horizontal(expected_y, pl.lit(float(np.log1p(upper))))
    df = df.with_columns(expected_y=pl.when(
        terms.list.drop_nulls().list.len() >= settings.min_periods).then(expected_y))
    df = df.with_columns(r=pl.col("y") - pl.col("expected_y"))
    window = steps * settings.scale_periods
    absr = pl.col("r").abs()
    df = _trailing(df, {"mad": (absr, "median"), "mean_ad": (absr, "mean"),
                        "zero_share": ((pl.col("value") == 0).cast(pl.Float64), "mean")},
                   window, min_samples, stride)
    df = df.with_columns(scale=pl.when(pl.col("mad") > 0).then(MAD_TO_SD * pl.col("mad"))
                         .otherwise(MEAN_AD_TO_SD * pl.col("mean_ad")))
    if settings.fallback_days and grain != "day":
        df = _daily_fallback(df, grain, steps, settings, stride, read_from)
    status = (pl.when(pl.col("value").is_null()).then(pl.lit("no_data"))
              .when(pl.col("expected_y").is_null() | pl.col("scale").is_null())
              .then(pl.lit("insufficient_history"))
              .when(pl.col("scale") <= 0).then(pl.lit("constant_series"))
              .when(pl.col("zero_share") > MAX_ZERO_SHARE).then(pl.lit("intermittent_series"))
              .otherwise(pl.lit("ok")))
    df = df.with_columns(status=status)
    ok = pl.col("status") == "ok"
    z = pl.when(ok).then((pl.col("y") - pl.col("expected_y")) / pl.col("scale"))
    df = df.with_columns(z=z, expected=pl.when(ok).then(pl.col("expected_y").exp() - 1))
    score = pl.Series(gaussian_score(df["z"].fill_null(np.nan).to_numpy()))
    return df.with_columns(score=pl.when(ok).then(score),  # NaN never leaks: null unless ok
                           scale=pl.when(ok).then(pl.col("scale"))).select(
        "entity", "ts", "value", "expected", "scale", "z", "score", "status")


def history_start(last: dt.datetime, grain: str, seasonality: str,
                  settings: BaselineSettings, new_steps: int) -> dt.datetime:
    """The earliest time the baseline of the last ``new_steps`` steps before ``last`` reads:
    the K lagged periods, the level window and the scale window, plus one period of margin."""
    steps = period_steps(seasonality, grain) * (settings.periods + settings.scale_periods + 2)
    return last - dt.timedelta(seconds=STEP_SECONDS[grain] * (steps + new_steps))


def score_threshold(z_threshold: float) -> float:
    """The score a robust |z| of ``z_threshold`` maps to (the flagging cut-off)."""
    return float(gaussian_score(np.array([z_threshold]))[0])
