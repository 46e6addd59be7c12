"""Forecast accuracy measures, seasonal naive, the gap rules, the series rules and conformal
quantiles, each against a hand computation written out here or a peer library."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.forecasting import build_panel
from dagster_project.analytics.forecasting.baselines import exponential_smoothing, seasonal_naive
from dagster_project.analytics.forecasting.conformal import horizon_quantiles
from dagster_project.analytics.forecasting.metrics import seasonal_scale, smape_terms, winkler
from dagster_project.analytics.forecasting.rules import series_status


def test_seasonal_scale_is_the_mean_absolute_seasonal_difference():
    y = np.array([[1.0, 2, 3, 5, 7, 11]])
    # m = 2: |3-1|, |5-2|, |7-3|, |11-5| = 2, 3, 4, 6 -> 15 / 4
    assert seasonal_scale(y, 2)[0] == pytest.approx(3.75)
    assert np.isnan(seasonal_scale(np.array([[np.nan, np.nan, 1.0]]), 2)[0])


def test_smape_counts_a_perfect_zero_forecast_as_zero_and_follows_the_m4_formula():
    y = np.array([0.0, 10.0, 0.0])
    f = np.array([0.0, 5.0, 2.0])
    # 0; 200 * 5 / 15; 200 * 2 / 2
    assert smape_terms(y, f) == pytest.approx([0.0, 200 / 3, 200.0])


def test_winkler_score_adds_the_width_and_two_over_alpha_times_the_miss():
    # [2, 4] at 80%: width 2; y = 5 misses by 1 -> 2 + 2 / 0.2 * 1 = 12; y = 3 inside -> 2
    assert winkler(np.array([5.0, 3.0, 1.5]), np.array([2.0] * 3), np.array([4.0] * 3),
                   0.8) == pytest.approx([12.0, 2.0, 2.0 + 10 * 0.5])
    with pytest.raises(ValueError, match="level"):
        winkler(np.zeros(1), np.zeros(1), np.zeros(1), 1.2)


def test_seasonal_naive_repeats_the_last_observed_season():
    y = np.arange(1.0, 15.0)[None, :]
    assert seasonal_naive(y, 10, 7)[0].tolist() == [8, 9, 10, 11, 12, 13, 14, 8, 9, 10]


def test_holt_winters_member_matches_statsmodels_fitted_on_the_same_window():
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = np.random.default_rng(3)
    days = np.arange(100)
    y = 50 + 8 * np.sin(2 * np.pi * days / 7) + rng.normal(0, 2, (3, 100))
    y[2, :40] = np.nan  # a series that started later: fitted on its 60 days only
    got = exponential_smoothing(y, 14, 7, window=84, min_days=28)
    for i, series in enumerate((y[0, -84:], y[1, -84:], y[2, 40:])):
        ref = ExponentialSmoothing(series, seasonal="add", seasonal_periods=7,
                                   initialization_method="heuristic").fit(use_brute=False)
        assert got[i] == pytest.approx(ref.forecast(14), rel=1e-9)


def test_holt_winters_member_continues_an_exact_weekly_pattern():
    pattern = np.array([3.0, 5, 7, 6, 4, 9, 12])
    y = np.tile(pattern, 12)[None, :]  # 84 days, starting on the pattern's first day
    assert exponential_smoothing(y, 7, 7, window=84, min_days=28)[0] == pytest.approx(
        pattern, abs=1e-6)


def test_holt_winters_member_leaves_series_too_short_for_it_to_the_fallback():
    y = np.full((1, 60), np.nan)
    y[0, -20:] = 5.0 + np.arange(20) % 7
    assert np.isnan(exponential_smoothing(y, 5, 7, window=84, min_days=28)).all()


def _long(rows):
    return pl.DataFrame(rows, schema=["id", "day", "y"], orient="row")


def test_flow_panel_counts_a_missing_day_as_zero_and_sums_duplicates():
    d = dt.date(2025, 1, 1)
    df = _long([("a", d, 2.0), ("a", d, 3.0), ("a", d + dt.timedelta(days=3), 4.0),
                ("b", d + dt.timedelta(days=2), 1.0)])
    p = build_panel(df, "id", "day", "y", "zero", as_of=d + dt.timedelta(days=4))
    assert p.ids == ("a", "b") and p.days == 5
    assert np.array_equal(p.values[0], [5.0, 0, 0, 4, 0])
    assert np.isnan(p.values[1, :2]).all() and np.array_equal(p.values[1, 2:], [1.0, 0, 0])
    assert not p.imputed.any()


def test_level_panel_interpolates_gaps_carries_the_tail_and_flags_both():
    d = dt.date(2025, 1, 1)
    df = _long([("m", d, 10.0), ("m", d + dt.timedelta(days=3), 16.0)])
    p = build_panel(df, "id", "day", "y", "interpolate", as_of=d + dt.timedelta(days=5))
    # 10, then 12 and 14 on the line to 16, then 16 carried forward
    assert np.allclose(p.values[0], [10, 12, 14, 16, 16, 16])
    assert p.imputed[0].tolist() == [False, True, True, False, True, True]


def test_each_series_rule_gives_its_status_and_short_series_fall_back_to_seasonal_naive():
    days = 70
    rng = np.random.default_rng(0)
    y = rng.gamma(2.0, 5.0, (7, days))
    y[0, :-10] = np.nan  # 10 days of history: too_short (< 2 x 7)
    y[1] = 0.0  # all_zeros
    y[2, -28:] = 0.0  # churned: inactive
    y[3] = 4.0  # constant
    y[5, :-20] = np.nan  # 20 days: ok, but fewer than the 28-day window -> seasonal naive
    imputed = np.zeros_like(y, dtype=bool)
    imputed[4, -40:] = True  # too_many_gaps
    status, method = series_status(y, imputed, 7, 28, 0.2)
    assert status.tolist() == ["too_short", "all_zeros", "inactive", "constant",
                               "too_many_gaps", "ok", "ok"]
    assert method[5] == "seasonal_naive" and method[6] == "ensemble"


def test_conformal_quantile_is_the_ceil_n_plus_one_level_order_statistic():
    r = np.arange(1.0, 10.0)[:, None]  # nine residuals at one horizon
    assert horizon_quantiles(r, 0.8, 0)[0] == 8.0  # ceil(10 x 0.8) = 8th smallest
    assert horizon_quantiles(r, 0.95, 0)[0] == np.inf  # ceil(10 x 0.95) = 10 > 9
    # a band of one pools the neighbouring horizons: 18 residuals at the first horizon
    two = np.column_stack([r[:, 0], r[:, 0] + 100, r[:, 0] + 200])
    assert horizon_quantiles(two, 0.5, 1)[0] == 101.0  # ceil(19 x 0.5) = 10th of 1..9, 101..109


def test_split_conformal_intervals_cover_at_least_their_level_on_exchangeable_errors():
    from scipy import stats

    rng = np.random.default_rng(11)
    draws = 2000
    calib = np.abs(rng.standard_t(3, (draws, 50)))  # 50 calibration residuals per draw
    test = np.abs(rng.standard_t(3, draws))
    q = np.array([horizon_quantiles(c[:, None], 0.8, 0)[0] for c in calib])
    covered = np.mean(test <= q)
    # Vovk et al. / Lei et al.: 0.8 <= P(cover) <= 0.8 + 1 / 51; a binomial 99.9% band
    band = stats.binom.ppf([0.0005, 0.9995], draws, [0.8, 0.8 + 1 / 51]) / draws
    assert band[0] <= covered <= band[1]
