"""Detection building blocks against hand computations, scipy and scikit-learn."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import polars as pl
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from dagster_project.analytics import monitoring as mon
from dagster_project.analytics.monitoring.autoencoder import AutoencoderModel
from dagster_project.analytics.monitoring.detect import anomaly_ids
from dagster_project.analytics.monitoring.isolation import IsolationModel

T0 = dt.datetime(2025, 1, 6)


def daily(values, entity="e") -> pl.DataFrame:
    n = len(values)
    return pl.DataFrame({"entity": [entity] * n,
                         "ts": [T0 + dt.timedelta(days=i) for i in range(n)],
                         "value": values}, schema={"entity": pl.String, "ts": pl.Datetime("us"),
                                                   "value": pl.Float64})


# ------------------------------------------------------------------ calibration
def test_gaussian_score_is_one_minus_the_two_sided_normal_tail():
    # published: P(|Z| > 1.959964) = 0.05, P(|Z| > 2.575829) = 0.01
    got = mon.gaussian_score(np.array([1.959964, -2.575829, 0.0]))
    np.testing.assert_allclose(got, [0.95, 0.99, 0.0], atol=1e-6)


def test_empirical_score_is_the_conformal_p_value_complement():
    train = np.array([1.0, 2.0, 3.0, 4.0])
    # hand: s = 3.5 -> one training score >= 3.5 -> p = (1 + 1) / 5; s = 10 -> p = 1/5
    np.testing.assert_allclose(mon.empirical_score(train, np.array([3.5, 10.0, 0.0])),
                               [1 - 2 / 5, 1 - 1 / 5, 1 - 5 / 5])


def test_combined_score_is_the_bonferroni_bound_over_the_detectors_present():
    scores = np.array([[0.99, 0.9, np.nan], [0.5, 0.6, 0.7], [np.nan, np.nan, np.nan]])
    # hand: row 0 -> m = 2, p = 2 * 0.01; row 1 -> p = min(1, 3 * 0.3) = 0.9
    got = mon.combine_scores(scores)
    np.testing.assert_allclose(got[:2], [1 - 0.02, 1 - 0.9])
    assert np.isnan(got[2])


# ------------------------------------------------------------------ robust baseline
def test_baseline_of_the_last_point_matches_a_hand_computation():
    rng = np.random.default_rng(3)
    n = 8 * 7
    weekly = np.tile([5.0, 6.0, 7.0, 6.5, 6.0, 3.0, 2.0], 8)
    values = np.expm1(weekly + 0.01 * np.arange(n) + rng.normal(0, 0.05, n))
    s = mon.BaselineSettings(periods=2, scale_periods=1, min_periods=2)
    got = mon.robust_baseline(daily(values), "day", "day_of_week", s)
    # by hand, on y = log1p(value), P = W = S = 7: for every t, d_k[t] = median over the last
    # 7 steps of y - y[. - 7k]; expected_y = median_k (y[t - 7k] + d_k); residuals r feed the
    # scale of the last point: 1.4826 * median |r| over its previous 7 steps
    y = np.log1p(values)

    def expected_y(t):
        terms = [y[t - 7 * k] + np.median(y[t - 7:t] - y[t - 7 - 7 * k:t - 7 * k])
                 for k in (1, 2)]
        return np.median(terms)

    t = n - 1
    r = np.array([y[u] - expected_y(u) for u in range(t - 7, t)])
    scale = 1.4826 * np.median(np.abs(r))
    last = got.row(-1, named=True)
    assert last["expected"] == pytest.approx(np.expm1(expected_y(t)), rel=1e-12)
    assert last["scale"] == pytest.approx(scale, rel=1e-12)
    assert last["z"] == pytest.approx((y[t] - expected_y(t)) / scale, rel=1e-12)
    assert last["score"] == pytest.approx(1 - 2 * stats.norm.sf(abs(last["z"])), abs=1e-12)


def test_a_point_is_never_part_of_its_own_baseline():
    rng = np.random.default_rng(0)
    values = np.expm1(np.tile([5.0, 6.0, 7.0, 6.5, 6.0, 3.0, 2.0], 10) + rng.normal(0, .05, 70))
    changed = values.copy()
    changed[50] *= 100  # a huge spike at t = 50 changes nothing at or before t = 50 but z
    a = mon.robust_baseline(daily(values), "day", "day_of_week")
    b = mon.robust_baseline(daily(changed), "day", "day_of_week")
    for col in ("expected", "scale"):
        assert a[col][:51].equals(b[col][:51], null_equal=True)
    assert b["z"][50] > 50 and b["status"][50] == "ok"


def test_a_constant_series_gets_constant_series_and_no_score():
    got = mon.robust_baseline(daily([4.0] * 60), "day", "day_of_week")
    scored = got.filter(pl.col("status") != "insufficient_history")
    assert set(scored["status"]) == {"constant_series"}
    assert scored["score"].null_count() == scored.height
    assert scored["expected"].null_count() == scored.height


def test_a_series_with_gaps_is_scored_around_them_and_the_gaps_get_no_data():
    values = np.expm1(np.tile([5.0, 6.0, 7.0, 6.5, 6.0, 3.0, 2.0], 10)
                      + np.random.default_rng(1).normal(0, .05, 70))
    df = daily(values).filter(~pl.col("ts").dt.day().is_in([20, 21, 22]))
    grid = mon.regular_grid(df, "day")
    got = mon.robust_baseline(grid, "day", "day_of_week")
    assert grid.height == 70
    assert set(got.filter(pl.col("value").is_null())["status"]) == {"no_data"}
    assert got.tail(15)["status"].to_list() == ["ok"] * 15


def test_a_short_history_is_insufficient_not_scored():
    got = mon.robust_baseline(daily(np.arange(1.0, 12.0)), "day", "day_of_week")
    assert set(got["status"]) == {"insufficient_history"}


def test_impossible_baseline_arguments_raise_value_errors_naming_them():
    with pytest.raises(ValueError, match="min_periods"):
        mon.BaselineSettings(periods=2, min_periods=3)
    with pytest.raises(ValueError, match="seasonality"):
        mon.robust_baseline(daily([1.0] * 30), "day", "hour_of_year")
    with pytest.raises(ValueError, match="grain"):
        mon.regular_grid(daily([1.0]), "week")


# ------------------------------------------------------------------ patterns
def test_mann_kendall_matches_the_hand_formula_and_theil_sen_the_median_pairwise_slope():
    z = np.array([1.0, 2.5, 2.0, 4.0, 3.5, 6.0, 5.5, 8.0])
    n = z.size
    i, j = np.triu_indices(n, 1)
    s = np.sum(np.sign(z[j] - z[i]))
    var = n * (n - 1) * (2 * n + 5) / 18  # no ties (Kendall 1975)
    p = 2 * stats.norm.sf(abs(s) / np.sqrt(var))
    tau, got_p, slope = mon.mann_kendall(z)
    assert tau == pytest.approx(s / (n * (n - 1) / 2))
    assert got_p == pytest.approx(p, rel=1e-9)
    assert slope == pytest.approx(np.median((z[j] - z[i]) / (j - i)))


def _flags(zs, start=T0, step=dt.timedelta(hours=1), entity="e"):
    return pl.DataFrame({"metric": "m", "entity": entity, "detector": "robust_baseline",
                         "ts": [start + k * step for k in range(len(zs))], "z": zs})


@pytest.mark.parametrize(("zs", "pattern"), [
    ([40.0], "spike"),
    ([-30.0, -35.0], "drop"),
    ([9.0, 11.0, 10.0, 9.5, 10.5, 9.8, 10.2, 9.9, 10.1, 10.0], "level_shift"),
    ([7.0, 8.0, 9.5, 11.0, 12.0, 14.0, 15.5, 17.0, 18.0, 20.0], "trend"),
])
def test_each_episode_shape_gets_its_pattern(zs, pattern):
    got = mon.classify(_flags(zs), dt.timedelta(hours=1))
    assert set(got["pattern"]) == {pattern}


def test_three_spikes_within_the_window_are_recurring_and_two_are_not():
    day = dt.timedelta(days=1)
    three = pl.concat([_flags([30.0], T0 + k * day) for k in range(3)])
    assert set(mon.classify(three, dt.timedelta(hours=1))["pattern"]) == {"recurring"}
    spread = pl.concat([_flags([30.0], T0 + k * 5 * day) for k in range(3)])  # 10 days apart
    assert set(mon.classify(spread, dt.timedelta(hours=1))["pattern"]) == {"spike"}


def test_flags_further_apart_than_the_gap_are_separate_episodes():
    flags = pl.concat([_flags([30.0]), _flags([-30.0], T0 + dt.timedelta(hours=5))])
    assert mon.classify(flags, dt.timedelta(hours=1))["pattern"].to_list() == ["spike", "drop"]


# ------------------------------------------------------------------ models
def _planted(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (3000, 4))
    y = np.zeros(3000, bool)
    y[::100] = True
    x[y] += rng.choice([-1, 1], (y.sum(), 4)) * 4
    return x, y


def test_isolation_forest_and_autoencoder_rank_planted_outliers_first():
    x, y = _planted()
    for model in (IsolationModel.fit(x, seed=0), AutoencoderModel.fit(x, seed=0)):
        assert roc_auc_score(y, model.score(x)) > 0.95


def test_the_autoencoder_is_deterministic_for_a_seed():
    x, _ = _planted()
    a, b = AutoencoderModel.fit(x, seed=5), AutoencoderModel.fit(x, seed=5)
    np.testing.assert_array_equal(a.raw(x), b.raw(x))


def test_anomaly_id_is_the_sha1_of_metric_entity_detector_and_time():
    df = pl.DataFrame({"metric": ["api_requests"], "entity": ["a/b"],
                       "detector": ["combined"], "ts": [dt.datetime(2025, 3, 7, 10)]})
    want = hashlib.sha1(b"api_requests|a/b|combined|2025-03-07T10:00:00").hexdigest()[:20]
    assert anomaly_ids(df).to_list() == [want]


def test_a_saturated_percentage_is_not_below_an_expectation_above_100():
    # growth of 3 points a day on a weekly cycle reaches the 100 % ceiling in the last week
    t = np.arange(63)
    values = np.minimum(100.0, 40 + 1.0 * t + np.tile([0, 1, 2, 1, 0, -3, -4], 9)
                        + np.random.default_rng(2).normal(0, 0.05, 63))
    capped = mon.robust_baseline(daily(values), "day", "day_of_week", upper=100.0)
    free = mon.robust_baseline(daily(values), "day", "day_of_week")
    last = capped.filter(pl.col("value") >= 100.0).tail(3)
    assert (last["expected"] <= 100.0 + 1e-9).all()
    assert (last["z"].abs() < 1e-9).all()  # at the ceiling and expected at the ceiling
    assert (free.filter(pl.col("value") >= 100.0).tail(3)["expected"] > 100.0).all()
    assert mon.baseline.upper_bound("host_cpu_pct") == 100.0
    assert mon.baseline.upper_bound("api_requests") is None


def test_detect_writes_the_contract_columns_flags_a_planted_spike_and_a_status_row():
    rng = np.random.default_rng(4)
    values = np.expm1(np.tile([5.0, 6.0, 7.0, 6.5, 6.0, 3.0, 2.0], 10) + rng.normal(0, .05, 70))
    values[60] *= 20  # a planted spike on day 60
    grid = pl.concat([daily(values, "cl-1"), daily([3.0] * 70, "cl-2")])
    settings = mon.DetectionSettings()
    base = mon.baselines({"client_daily_revenue": (grid, "day", "day_of_week")}, settings)
    models = mon.fit_models(base, settings)  # no API or host metric: no model
    rows = mon.detect(base, {"client_daily_revenue": "day"}, models, dt.datetime(2026, 1, 1),
                      settings)
    assert list(rows.columns) == ["anomaly_id", "metric", "entity", "ts", "value", "expected",
                                  "score", "detector", "pattern", "status", "status_message",
                                  "detected_at"]
    flagged = rows.filter(pl.col("status") == "ok")
    assert set(flagged["ts"]) == {T0 + dt.timedelta(days=60)}
    assert set(flagged["detector"]) == {"robust_baseline", "combined"}
    assert set(flagged["pattern"]) == {"spike"} and set(flagged["entity"]) == {"cl-1"}
    (status,) = rows.filter(pl.col("status") != "ok").iter_rows(named=True)
    assert (status["entity"], status["status"]) == ("cl-2", "constant_series")
    assert status["score"] is None and status["expected"] is None and status["pattern"] is None


def test_the_monthly_baseline_reads_the_same_day_of_earlier_months():
    # value = day of the month: the same day k months earlier has the same value; month ends
    # (Jan 29..31 -> Feb 28, Mar 31 -> no Feb 31) keep one row per day and the 28th's slot
    days = pl.date_range(dt.date(2025, 1, 1), dt.date(2025, 6, 30), eager=True)
    df = pl.DataFrame({"entity": "tier", "ts": days.cast(pl.Datetime("us")),
                       "value": days.dt.day().cast(pl.Float64)
                       + np.random.default_rng(0).normal(0, 0.01, days.len())})
    got = mon.robust_baseline(df, "day", "day_of_month")
    assert got.height == df.height
    ok = got.filter(pl.col("status") == "ok")
    assert ok.height > 60
    np.testing.assert_allclose(ok["expected"], ok["ts"].dt.day().cast(pl.Float64), rtol=0.02)


def test_a_mostly_zero_series_is_intermittent_and_absent_days_count_as_zero():
    rng = np.random.default_rng(5)
    values = np.where(rng.random(70) < 0.2, rng.gamma(2.0, 50.0, 70), 0.0)  # buys 1 day in 5
    sparse = daily(values).filter(pl.col("value") > 0)  # the mart: active days only
    grid = mon.regular_grid(sparse, "day", absent=0.0)
    assert grid.height == 70 - int(np.argmax(values > 0)) and grid["value"].null_count() == 0
    got = mon.robust_baseline(grid, "day", "day_of_week")
    late = got.tail(20)
    assert set(late["status"]) == {"intermittent_series"}
    assert late["score"].null_count() == 20
