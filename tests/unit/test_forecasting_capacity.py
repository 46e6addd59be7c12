"""Capacity planning on series with a known crossing: the trend model's choice, the crossing
date against the closed form, probabilities that grow with the horizon, the threshold table."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.forecasting import (
    CapacitySettings,
    Panel,
    capacity_forecast,
    thresholds,
)

START = dt.date(2025, 1, 1)


def _panel(series: dict[str, np.ndarray]) -> Panel:
    values = np.vstack(list(series.values()))
    return Panel(tuple(series), START, values, np.zeros_like(values, dtype=bool))


def test_exponential_and_linear_growth_are_told_apart_and_cross_on_the_closed_form_day():
    rng = np.random.default_rng(2)
    t = np.arange(120)
    g = math.log(80 / 45) / 150  # 45 -> 80 on day 150 (as the simulator's CPU curve)
    cpu = 45 * np.exp(g * (t + 0.5)) + rng.normal(0, 0.05, t.size)
    disk = 40 + 0.25 * (t + 0.5) + rng.normal(0, 0.05, t.size)  # 90 on day 200
    got = capacity_forecast(_panel({"cpu_pct": cpu, "disk_pct": disk}),
                            {"cpu_pct": 80.0, "disk_pct": 90.0})
    rows = {r["resource"]: r for r in got.iter_rows(named=True)}
    assert rows["cpu_pct"]["model"] == "exponential" and rows["disk_pct"]["model"] == "linear"
    # closed form: first day d with 45 exp(g (d + 0.5)) >= 80 is d = 150; disk: d = 200
    cpu_day = math.ceil(math.log(80 / 45) / g - 0.5)
    assert abs((rows["cpu_pct"]["expected_crossing_date"] - START).days - cpu_day) <= 1
    assert abs((rows["disk_pct"]["expected_crossing_date"] - START).days - 200) <= 1


def test_crossing_probability_grows_with_the_horizon_and_the_warning_follows_the_date():
    rng = np.random.default_rng(4)
    t = np.arange(150)
    y = 50 + 0.2 * t + rng.normal(0, 1.0, t.size)  # reaches 90 around day 200: 50 days ahead
    got = capacity_forecast(_panel({"memory_pct": y}), {"memory_pct": 90.0},
                            CapacitySettings(warning_days=60))
    p = got.filter(pl.col("level") == 0.8).sort("horizon_days")["p_cross_by_horizon"].to_list()
    assert p == sorted(p) and p[0] < 0.5 < p[-1]
    assert got["warning"].all() and 40 <= got["days_to_crossing"][0] <= 60
    quiet = capacity_forecast(_panel({"memory_pct": y}), {"memory_pct": 90.0},
                              CapacitySettings(warning_days=30))
    assert not quiet["warning"].any()


def test_a_history_too_short_to_backtest_gives_a_status_and_no_numbers():
    got = capacity_forecast(_panel({"cpu_pct": np.linspace(40, 50, 40)}), {"cpu_pct": 80.0})
    assert got["status"].to_list() == ["insufficient_history"]
    assert got["forecast"].null_count() == 1 and got["expected_crossing_date"].null_count() == 1


def test_packaged_thresholds_match_the_simulators_capacity_limits():
    from dagster_project.simulator import params as P

    limits = thresholds()
    for resource, value in P.CAPACITY_THRESHOLDS.items():
        assert limits[resource] == value
    assert {"requests", "latency_p95_ms"} <= set(limits)


def test_a_threshold_row_without_a_value_is_refused(tmp_path):
    path = tmp_path / "t.yml"
    path.write_text("thresholds:\n  - resource: cpu_pct\n")
    with pytest.raises(ValueError, match="threshold"):
        thresholds(path)
