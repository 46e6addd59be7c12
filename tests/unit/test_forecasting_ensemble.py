"""The ensemble, the backtest and the whole forecast of a panel on synthetic series: weights
against a brute-force search of the simplex, the rule that a member must beat seasonal naive,
no look-ahead, determinism, and the documented handling of bad series."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.forecasting import ForecastSettings, Panel, forecast_panel
from dagster_project.analytics.forecasting.backtest import run_backtest
from dagster_project.analytics.forecasting.ensemble import combine, eligible, l1_weights
from dagster_project.analytics.forecasting.global_models import GlobalSettings
from dagster_project.analytics.forecasting.members import member_forecasts

START = dt.date(2025, 1, 6)  # a Monday
FAST = ForecastSettings(horizon=14, folds=2, fold_step=7, min_train_days=42,
                        members=("lightgbm", "ets"), models=GlobalSettings(max_rows=5000))


def _panel(n: int = 40, days: int = 120, seed: int = 1) -> Panel:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    level = rng.gamma(3.0, 20.0, (n, 1))
    weekly = 1 + 0.4 * np.sin(2 * np.pi * (t % 7) / 7)
    values = rng.poisson(level * weekly * (1 + 0.002 * t)).astype(float)
    return Panel(tuple(f"s{i:03d}" for i in range(n)), START, values,
                 np.zeros_like(values, dtype=bool))


def test_l1_weights_match_a_brute_force_search_of_the_simplex():
    rng = np.random.default_rng(5)
    y = rng.normal(10, 3, 400)
    f = {"seasonal_naive": y + rng.normal(0, 3, 400), "a": y + rng.normal(1, 1, 400),
         "b": y - rng.normal(1, 1.5, 400)}
    w = l1_weights(f, y, np.ones(400), list(f), 10_000, rng)
    loss = lambda wa, wb: np.abs(y - ((1 - wa - wb) * f["seasonal_naive"] + wa * f["a"]
                                      + wb * f["b"])).sum()
    grid = [(a, b) for a in np.linspace(0, 1, 201) for b in np.linspace(0, 1, 201) if a + b <= 1]
    best = min(loss(a, b) for a, b in grid)
    assert sum(w.values()) == pytest.approx(1.0)
    assert loss(w["a"], w["b"]) <= best + 1e-9  # the LP optimum is no worse than the grid's


def test_a_member_that_does_not_beat_seasonal_naive_is_not_eligible():
    got = eligible({"seasonal_naive": 1.0, "good": 0.8, "tie": 1.0, "bad": 1.3, "none": np.nan},
                   {"seasonal_naive": 1.0, "good": 1.0, "tie": 1.0, "bad": 1.0, "none": 1.0})
    assert got == {"seasonal_naive": True, "good": True, "tie": False, "bad": False,
                   "none": False}


def test_combine_renormalises_over_available_members_and_falls_back_for_short_series():
    f = {"seasonal_naive": np.array([[1.0], [1.0], [1.0]]),
         "a": np.array([[3.0], [np.nan], [3.0]]), "b": np.array([[5.0], [5.0], [5.0]])}
    got = combine(f, {"seasonal_naive": 0.0, "a": 0.5, "b": 0.5},
                  np.array([False, False, True]))
    assert got[:, 0].tolist() == [4.0, 5.0, 1.0]


def test_no_member_sees_days_after_its_origin():
    panel = _panel()
    origin = 80
    later = panel.values.copy()
    later[:, origin:] = later[:, origin:] * 7 + 1000  # whatever happens afterwards
    args = (14, START.weekday(), dataclasses.replace(FAST, members=("lightgbm",
                                                                    "random_forest", "mlp",
                                                                    "ets")))
    a = member_forecasts(panel.values[:, :origin], *args)
    b = member_forecasts(later[:, :origin], *args)
    for m in a:
        assert np.array_equal(a[m], b[m], equal_nan=True), m


def test_backtest_folds_before_a_change_are_unchanged_by_it():
    panel = _panel()
    bt = run_backtest(panel, FAST)
    cut = bt.origins[0] + 3  # inside the first fold's test window, before the second origin
    changed = panel.values.copy()
    changed[:, cut:] = changed[:, cut:] * 3
    bt2 = run_backtest(Panel(panel.ids, panel.start, changed, panel.imputed), FAST)
    for m in bt.forecasts:
        if m == "ensemble":  # its weights are learned on the other folds, which did change
            continue
        assert np.array_equal(bt.forecasts[m][0], bt2.forecasts[m][0], equal_nan=True), m
        assert not np.array_equal(bt.forecasts[m][1], bt2.forecasts[m][1], equal_nan=True), m


def test_forecasts_are_identical_for_a_fixed_seed():
    panel = _panel(n=25)
    settings = dataclasses.replace(FAST, members=("lightgbm", "random_forest", "mlp", "ets"))
    a, b = forecast_panel(panel, settings), forecast_panel(panel, settings)
    assert a.forecast.equals(b.forecast) and a.backtest.equals(b.backtest)


def test_every_member_beaten_by_seasonal_naive_gets_weight_zero_and_is_named():
    panel = _panel()
    res = forecast_panel(panel, FAST)
    members = res.members.filter(pl.col("member") != "ensemble")
    assert members["weight"].sum() == pytest.approx(1.0)
    for row in members.iter_rows(named=True):
        if row["member"] != "seasonal_naive" and not row["beats_seasonal_naive"]:
            assert row["weight"] == 0 and "does not beat seasonal naive" in row["weight_reason"]
    assert res.members.filter(pl.col("member") == "lightgbm")["beats_seasonal_naive"][0]


def test_bad_series_get_their_status_and_never_a_nan_forecast():
    panel = _panel(n=30)
    v = panel.values.copy()
    v[0] = 0.0  # a series of zeros
    v[1, :-10] = np.nan  # shorter than two seasons
    v[2, -40:] = 0.0  # a client that churned mid-history
    v[3, :-20] = np.nan  # younger than the feature window: seasonal naive only
    imputed = np.zeros_like(v, dtype=bool)
    imputed[4, -30:] = True  # a level series with a long gap
    res = forecast_panel(Panel(panel.ids, panel.start, v, imputed), FAST)
    status = dict(res.forecast.unique("series_id").select("series_id", "status").iter_rows())
    assert [status[panel.ids[i]] for i in range(5)] == [
        "all_zeros", "too_short", "inactive", "ok", "too_many_gaps"]
    ok = res.forecast.filter(pl.col("status") == "ok")
    assert ok.select(pl.col("forecast", "lower", "upper").is_nan().any()).row(0) == (False,) * 3
    assert ok["forecast"].null_count() == 0
    assert set(ok.filter(pl.col("series_id") == panel.ids[3])["method"]) == {"seasonal_naive"}
    bad = res.forecast.filter(pl.col("status") != "ok")
    assert bad["forecast"].null_count() == bad.height


def test_a_history_too_short_for_a_backtest_gives_no_forecast_with_a_status():
    panel = _panel(days=50)
    res = forecast_panel(panel, ForecastSettings())
    assert res.status == "insufficient_history" and res.horizon == 0
    assert set(res.forecast["status"]) == {"insufficient_history"}
    assert res.forecast["forecast"].null_count() == res.forecast.height


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"horizon": 0}, "horizon"), ({"levels": (0.8, 1.0)}, "levels"),
    ({"members": ("prophet",)}, "unknown members"), ({"folds": 1}, "folds"),
    ({"min_train_days": 20}, "min_train_days")])
def test_impossible_settings_raise_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ForecastSettings(**kwargs)
