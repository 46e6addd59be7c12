"""The robust baseline's short-history fallback (hourly series younger than two weeks) against
hand computations on hand-built hourly series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics import monitoring as mon

MONDAY = dt.datetime(2025, 1, 6)
DAYS = 15
SPIKE = 9 * 24 + 10  # day 9 (a Wednesday), 10:00


def hourly(values: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"entity": "e", "ts": [MONDAY + dt.timedelta(hours=i)
                                               for i in range(len(values))], "value": values},
                        schema={"entity": pl.String, "ts": pl.Datetime("us"),
                                "value": pl.Float64})


def traffic(seed: int = 0) -> np.ndarray:
    """Requests of an endpoint: a daily cycle (peak at 13:00), weekends at 70 % of weekdays,
    2 % multiplicative noise; starts on a Monday, so its first weekend has only weekdays
    before it."""
    hours = np.arange(DAYS * 24)
    daily = 1.0 + 0.6 * np.sin(2 * np.pi * (hours % 24 - 7) / 24)
    weekend = np.where((hours // 24) % 7 >= 5, 0.7, 1.0)
    noise = np.random.default_rng(seed).normal(0, 0.02, hours.size)
    return 5000 * daily * weekend * np.exp(noise)


def by_hand(values: np.ndarray, t: int) -> tuple[float, float]:
    """The fallback's expectation (value units) and scale (log1p units) at ``t``, written out:
    the point clipped into the range of the same hour on the 7 earlier days; 1.4826 x the
    median |day-over-day change| of the 7 x 24 hours before ``t``."""
    y = np.log1p(values)
    same_hour = y[[t - 24 * j for j in range(1, 8)]]
    expected = np.clip(y[t], same_hour.min(), same_hour.max())
    changes = np.abs(y[t - 168:t] - y[t - 168 - 24:t - 24])
    return float(np.expm1(expected)), 1.4826 * float(np.median(changes))


def test_a_spike_on_day_9_of_an_hourly_series_is_flagged_by_the_fallback():
    values = traffic()
    values[SPIKE] *= 3.0
    got = mon.robust_baseline(hourly(values), "hour", "hour_of_week")
    row = got.row(SPIKE, named=True)
    expected, scale = by_hand(values, SPIKE)
    assert row["status"] == "ok"
    assert row["expected"] == pytest.approx(expected, rel=1e-12)
    assert row["scale"] == pytest.approx(scale, rel=1e-12)
    assert row["z"] == pytest.approx((np.log1p(values[SPIKE]) - np.log1p(expected)) / scale,
                                     rel=1e-12)
    assert row["z"] >= 7  # the detection threshold of DetectionSettings
    flagged = got.filter(pl.col("z").abs() >= 7)["ts"].to_list()
    assert flagged == [MONDAY + dt.timedelta(hours=SPIKE)]
    # without the fallback the seasonal baseline cannot score day 9 at all
    seasonal = mon.robust_baseline(hourly(values), "hour", "hour_of_week",
                                   mon.BaselineSettings(fallback_days=0))
    assert seasonal.row(SPIKE, named=True)["status"] == "insufficient_history"


def test_an_ordinary_first_fortnight_is_scored_from_day_7_and_never_flagged():
    got = mon.robust_baseline(hourly(traffic(seed=1)), "hour", "hour_of_week")
    # days 0..6 have fewer than 7 earlier days: no score; days 7..14 (the first Saturday
    # included, against a range that holds a weekend day) are scored and none is flagged
    assert set(got[:7 * 24]["status"]) == {"insufficient_history"}
    assert set(got[7 * 24:]["status"]) == {"ok"}
    assert got[7 * 24:]["z"].abs().max() < 7
    # why 7 days: against 3 earlier weekdays the first Saturday would be a drop
    short = mon.robust_baseline(hourly(traffic(seed=1)), "hour", "hour_of_week",
                                mon.BaselineSettings(fallback_days=3))
    saturday = short.filter(pl.col("ts").dt.date() == dt.date(2025, 1, 11))
    assert (saturday["z"] <= -7).any()


def test_a_constant_hourly_series_gets_constant_series_and_no_score():
    got = mon.robust_baseline(hourly(np.full(DAYS * 24, 40.0)), "hour", "hour_of_week")
    assert set(got[7 * 24:]["status"]) == {"constant_series"}
    assert got["score"].null_count() == got.height


def test_the_fallback_never_reads_the_tested_point():
    values = traffic(seed=2)
    changed = values.copy()
    changed[SPIKE] *= 100
    a = mon.robust_baseline(hourly(values), "hour", "hour_of_week")
    b = mon.robust_baseline(hourly(changed), "hour", "hour_of_week")
    for col in ("expected", "scale", "z"):
        assert a[col][:SPIKE].equals(b[col][:SPIKE], null_equal=True)
    assert b["scale"][SPIKE] == a["scale"][SPIKE]
    # the changed point is above the range of the unchanged earlier days: its expectation is
    # their maximum, computed without it
    y = np.log1p(values)
    top = max(y[SPIKE - 24 * j] for j in range(1, 8))
    assert b["expected"][SPIKE] == pytest.approx(np.expm1(top), rel=1e-12)
    assert b["z"][SPIKE] > 50


def test_a_fallback_point_missing_one_earlier_day_is_insufficient():
    values = traffic(seed=3)
    values[SPIKE - 3 * 24] = np.nan  # the same hour three days earlier is a gap
    grid = hourly(values).with_columns(value=pl.col("value").fill_nan(None))
    got = mon.robust_baseline(grid, "hour", "hour_of_week")
    assert got.row(SPIKE, named=True)["status"] == "insufficient_history"
    assert got.row(SPIKE + 1, named=True)["status"] == "ok"


def test_a_negative_fallback_days_raises_a_value_error_naming_it():
    with pytest.raises(ValueError, match="fallback_days"):
        mon.BaselineSettings(fallback_days=-1)


def test_a_history_cut_by_a_bounded_read_gets_no_fallback():
    # the hourly run reads the last weeks only: a series whose first step is the read's start
    # is old, not young, and its oldest days are never scored by the fallback
    grid = hourly(traffic(seed=4))
    cut = mon.robust_baseline(grid, "hour", "hour_of_week", read_from=MONDAY)
    young = mon.robust_baseline(grid, "hour", "hour_of_week",
                                read_from=MONDAY - dt.timedelta(hours=1))
    assert set(cut[:14 * 24]["status"]) == {"insufficient_history"}
    assert set(young[7 * 24:]["status"]) == {"ok"}
