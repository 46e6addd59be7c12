"""The forecasting group materialized by the nightly job on tiny data (DuckDB), the job
limited to the group and what it reads.

Tiny covers 50 days. With the default settings (a 56-day first training window) no backtest
fits, so the defaults are overridden here the way an analyst would in the launchpad: two
folds a week apart after 35 days, a 7-day horizon; the capacity forecast, two folds after
28 days. Every table is written, the status checks pass, the analyst sees fan charts and the
members' weights, the client-keyed reporting table carries each client's forecast, and the
planted CPU growth (crossing 80% on day 38 of tiny) raises one alert event that a second run
updates in place instead of duplicating.
"""

from __future__ import annotations

import dagster as dg
import pytest

pytestmark = pytest.mark.integration

RUN_CONFIG = {"ops": {
    "revenue_forecasts": {"config": {"horizon_days": 7, "folds": 2, "fold_step_days": 7,
                                     "min_train_days": 35}},
    "analytics__capacity_forecast": {"config": {"horizons_days": [7, 14], "folds": 2,
                                                "fold_step_days": 7}},
}}
TABLES = ("revenue_forecast", "mrr_forecast", "forecast_backtest", "capacity_forecast")


def _run(selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
    """The nightly job, limited to ``selection`` (what the forecasting group reads and writes:
    the other groups' Python assets are not needed here)."""
    from dagster_project.definitions import defs

    d = defs()
    keys = selection.resolve(d.resolve_asset_graph())
    return d.resolve_job_def("nightly_refresh").execute_in_process(
        run_config=RUN_CONFIG, instance=dg.DagsterInstance.get(), asset_selection=list(keys))


@pytest.fixture(scope="module")
def built(module_pipeline_env):
    result = _run(dg.AssetSelection.groups("forecasting").upstream())
    assert result.success
    return module_pipeline_env, result


def test_every_forecasting_table_is_written_and_the_status_checks_pass(built):
    env, result = built
    for table in TABLES:
        assert env.query(f"select count(*) as n from analytics.{table}")["n"][0] > 0, table
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    for table in TABLES:
        assert checks[f"{table}_statuses_hold"] is True, table


def test_every_client_with_revenue_has_forecast_rows_or_a_status(built):
    env, _ = built
    got = env.query("""
        select (select count(distinct client_id) from marts.fct_revenue_daily) as clients,
               (select count(distinct client_id) from analytics.revenue_forecast
                where series_kind = 'client') as forecast_clients,
               (select count(*) from analytics.revenue_forecast
                where status = 'ok' and (forecast is null or isnan(forecast))) as bad""")
    row = got.row(0, named=True)
    assert row["clients"] == row["forecast_clients"] and row["bad"] == 0
    ok = env.query("select * from analytics.revenue_forecast where status = 'ok'")
    assert set(ok["horizon_days"]) == set(range(1, 8)) and set(ok["level"]) == {0.8, 0.95}
    assert ((ok["lower"] <= ok["forecast"]) & (ok["forecast"] <= ok["upper"])).all()


def test_backtest_reports_every_member_and_the_ensemble_against_seasonal_naive(built):
    env, _ = built
    bt = env.query("select * from analytics.forecast_backtest where forecast = 'client_revenue'")
    assert set(bt["member"]) == {"seasonal_naive", "ets", "lightgbm", "random_forest", "mlp",
                                 "ensemble"}
    pooled = bt.filter(bt["fold"].is_null() & (bt["status"] == "ok"))
    assert (pooled["mase_ratio"] - pooled["mase"] / pooled["seasonal_naive_mase"]).abs().max() < 1e-12
    weights = pooled.filter(pooled["member"] != "ensemble").unique("member")
    assert abs(weights["weight"].sum() - 1) < 1e-9
    losers = weights.filter(~weights["beats_seasonal_naive"] & (weights["member"] != "seasonal_naive"))
    assert (losers["weight"] == 0).all()


def test_reporting_table_carries_each_clients_forecast(built):
    env, _ = built
    rpt = env.query("select * from reporting.rpt_client_revenue_forecast")
    src = env.query("select * from analytics.revenue_forecast where series_kind = 'client'")
    assert rpt.height == src.height
    assert rpt["revenue_forecast"].null_count() == rpt.filter(rpt["status"] != "ok").height


def test_planted_cpu_crossing_raises_one_alert_event_that_a_rerun_keeps(built):
    env, _ = built
    cap = env.query("select * from analytics.capacity_forecast where resource = 'cpu_pct'")
    assert cap["warning"].all()
    events = env.query("select * from analytics.alert_events where source = 'forecasting'")
    assert "capacity:cpu_pct" in set(events["entity"])
    assert _run(dg.AssetSelection.assets(["analytics", "capacity_forecast"])).success
    again = env.query("select * from analytics.alert_events where source = 'forecasting'")
    assert sorted(again["event_id"]) == sorted(events["event_id"])


def test_the_analyst_sees_fan_charts_members_and_their_weights(built):
    _, result = built
    meta = {m.asset_key.to_user_string(): m.materialization.metadata
            for m in result.get_asset_materialization_events()}
    assert "data:image/png;base64" in meta["analytics/revenue_forecast"]["fan_chart_clients"].value
    assert "data:image/png;base64" in meta["analytics/mrr_forecast"]["fan_chart"].value
    assert "data:image/png;base64" in meta["analytics/capacity_forecast"]["forecast_chart"].value
    assert "weight_reason" in meta["analytics/forecast_backtest"]["members"].value
