"""A forecast whose per-series Holt-Winters fits run on Spark's executors
(``warehouse.spark_fanout.executor_map``) is the forecast whose fits run in joblib's processes:
the same forecast, backtest and member tables, to the bit, on a panel with series too short
for Holt-Winters (NaN rows that must come back in their places)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dagster_project.analytics.forecasting import ForecastSettings, Panel, forecast_panel
from dagster_project.analytics.forecasting.global_models import GlobalSettings

pytestmark = pytest.mark.spark


def test_holt_winters_on_the_executors_gives_the_local_forecast(spark_session):
    from dagster_project.warehouse.spark_fanout import executor_map

    rng = np.random.default_rng(4)
    n, days = 60, 150
    t = np.arange(days)
    values = rng.poisson(rng.gamma(3.0, 20.0, (n, 1)) * (1 + 0.4 * np.sin(2 * np.pi * t / 7)))
    values = values.astype(float)
    values[:6, :120] = np.nan  # 30 days: in both folds fewer than the 28 Holt-Winters needs
    panel = Panel(tuple(f"s{i:03d}" for i in range(n)), dt.date(2025, 1, 6), values,
                  np.zeros_like(values, dtype=bool))
    settings = ForecastSettings(horizon=14, folds=2, fold_step=7, min_train_days=42,
                                members=("lightgbm", "ets"),
                                models=GlobalSettings(max_rows=5000, n_jobs=2))
    local = forecast_panel(panel, settings)
    spark = forecast_panel(panel, settings, map_chunks=executor_map(spark_session))
    assert local.forecast.equals(spark.forecast)
    assert local.backtest.equals(spark.backtest) and local.members.equals(spark.members)
    assert local.timings["ets"] > 0 and spark.timings["ets"] > 0
