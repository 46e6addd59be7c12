"""Forecasting assets: read the marts, call dagster_project.analytics.forecasting, write analytics.*.

``revenue_forecasts`` forecasts three panels with the same settings (client daily revenue,
platform daily revenue, MRR per tier) and writes their forecasts and their backtest;
``capacity_forecast`` forecasts the fleet's resources and writes an alert event for every
threshold it expects to be crossed within the warning horizon.
"""

import datetime as dt

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.alert_events import alert_event, write_alert_events
from dagster_project.analytics import forecasting as fc
from dagster_project.analytics.forecasting.global_models import GlobalSettings
from dagster_project.contract import vocabulary
from dagster_project.defs.forecasting import plots
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, png_markdown, table_metadata
from dagster_project.plots import histogram_or_statuses, plot_entry
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("forecasting")
KINDS = {"python", "polars", get_settings().warehouse_backend}
REVENUE_DAILY = dg.AssetKey(["marts", "fct_revenue_daily"])
TOUCH_CREDITS = dg.AssetKey(["marts", "fct_attribution_touch_credits"])
MRR_DAILY = dg.AssetKey(["marts", "fct_mrr_daily"])
RESOURCES = dg.AssetKey(["marts", "fct_resource_usage_hourly"])
API = dg.AssetKey(["marts", "fct_api_performance_hourly"])
AS_OF_SQL = "select max(as_of_date) as as_of_date from intermediate.int_as_of_date"
PLATFORMS = ", ".join(f"'{p}'" for p in vocabulary("platform"))

# panel -> (SQL giving series_id, day, value; the gap rule of analytics.forecasting.panel)
SERIES = {
    "client_revenue": (("select client_id as series_id, revenue_date as day, revenue as value "
                       "from marts.fct_revenue_daily"), "zero"),
    "platform_revenue": (("select channel as series_id, cast(converted_at as date) as day, "
                         "sum(revenue_credit) as value from marts.fct_attribution_touch_credits "
                         f"where attribution_model = 'linear' and channel in ({PLATFORMS}) "
                         "group by 1, 2"), "zero"),
    "tier_mrr": (("select tier as series_id, date_day as day, mrr as value "
                 "from marts.fct_mrr_daily"), "interpolate"),
}
CAPACITY_SQL = """
with res as (
    select cast(hour_at as date) as day,
        sum(avg_cpu_pct * minutes_observed) / sum(minutes_observed) as cpu_pct,
        sum(avg_memory_pct * minutes_observed) / sum(minutes_observed) as memory_pct,
        sum(avg_disk_pct * minutes_observed) / sum(minutes_observed) as disk_pct,
        sum(avg_queue_depth * minutes_observed) / sum(minutes_observed) as queue_depth
    from marts.fct_resource_usage_hourly group by 1
), api as (
    select cast(hour_at as date) as day, cast(sum(requests) as double precision) as requests,
        sum(latency_p95_ms * requests) / nullif(sum(requests), 0) as latency_p95_ms
    from marts.fct_api_performance_hourly group by 1
)
select day, 'cpu_pct' as series_id, cpu_pct as value from res
union all select day, 'memory_pct', memory_pct from res
union all select day, 'disk_pct', disk_pct from res
union all select day, 'queue_depth', queue_depth from res
union all select day, 'requests', requests from api
union all select day, 'latency_p95_ms', latency_p95_ms from api
"""
STATUS = {"status": fc.status_description(), "status_message": "the status's reason, in words"}
FORECAST_COLUMNS = {
    "forecast_date": "the day forecast", "horizon_days": "days after as_of_date",
    "level": "nominal coverage of [lower, upper]",
    "forecast": "ensemble point forecast (conditional median target; seasonal naive for "
                "method seasonal_naive)",
    "lower": "lower end of the split-conformal interval (clipped at 0)",
    "upper": "upper end of the split-conformal interval",
    "backtest_coverage": "measured (cross-fitted) coverage of this method's intervals at this "
                         "horizon and level in the rolling-origin backtest",
    "method": "ensemble, or seasonal_naive for series shorter than the feature window",
    **STATUS,
}


class ForecastConfig(dg.Config):
    horizon_days: int = Field(default=90, ge=1, description="Days ahead (shortened to what the "
                              "history can backtest: days - min_train_days - (folds - 1) x "
                              "fold_step_days).")
    levels: list[float] = Field(default=[0.8, 0.95], description="Interval levels.")
    members: list[str] = Field(default=list(fc.MEMBERS), description="Ensemble members besides "
                               "seasonal naive (always one): lightgbm, random_forest, mlp, ets.")
    folds: int = Field(default=3, ge=2, description="Rolling backtest origins.")
    fold_step_days: int = Field(default=14, ge=1, description="Days between origins.")
    min_train_days: int = Field(default=56, description="History before the first origin.")
    max_train_rows: int = Field(default=50_000, description="Training rows of the global "
                                "models (a seeded sample).")
    seed: int = Field(default=0, description="Seed of every model and sample.")
    n_jobs: int = Field(default=2, ge=1, description="Threads / processes per model.")

    def settings(self) -> fc.ForecastSettings:
        return fc.ForecastSettings(
            horizon=self.horizon_days, levels=tuple(self.levels), members=tuple(self.members),
            folds=self.folds, fold_step=self.fold_step_days, min_train_days=self.min_train_days,
            seed=self.seed, models=GlobalSettings(max_rows=self.max_train_rows,
                                                  n_jobs=self.n_jobs))


def _spec(name: str, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(["analytics", name], deps=deps, description=description,
                        group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS)


def _as_of(warehouse: Warehouse) -> dt.date | None:
    return warehouse.read(AS_OF_SQL)["as_of_date"][0]


def _statuses(df: pl.DataFrame) -> dg.MetadataValue:
    counts = df.group_by("status").len().sort("status")
    return dg.MetadataValue.md(markdown_table(counts.join(fc.status_table(), on="status",
                                                          how="left")))


def _fan(name: str, panel: fc.Panel, result: fc.ForecastResult, series: list[str],
         title: str) -> dict:
    """``{name: fan chart}`` of ``series``, or nothing when there is no series to draw."""
    if not series:
        return {}
    return {name: png_markdown(plots.fan_chart(panel, result.forecast, series, title), title)}


def _top_series(history: pl.DataFrame, n: int) -> list[str]:
    recent = history.filter(pl.col("day") > pl.col("day").max() - pl.duration(days=28))
    return recent.group_by("series_id").agg(pl.col("value").sum()).sort(
        "value", "series_id", descending=[True, False]).head(n)["series_id"].to_list()


@dg.multi_asset(specs=[
    _spec("revenue_forecast", "Per series (client daily revenue; platform daily revenue "
          "credited by the linear attribution model) x horizon x level: ensemble forecast, "
          "split-conformal interval and its backtest coverage.", [REVENUE_DAILY, TOUCH_CREDITS]),
    _spec("mrr_forecast", "Per tier x horizon x level: MRR forecast, interval and backtest "
          "coverage.", [MRR_DAILY]),
    _spec("forecast_backtest", "Per forecast x member (and the ensemble) x fold x level: "
          "rolling-origin MASE, sMAPE, interval coverage and MSIS, against seasonal naive; "
          "the member's ensemble weight.", [REVENUE_DAILY, TOUCH_CREDITS, MRR_DAILY]),
], can_subset=False)
def revenue_forecasts(config: ForecastConfig, warehouse: Warehouse):
    """Ensembles (LightGBM, random forest, MLP, Holt-Winters, seasonal naive) weighted by
    their rolling-origin backtest, with conformal intervals per horizon."""
    settings = config.settings()
    as_of = _as_of(warehouse)
    results, histories, panels = {}, {}, {}
    for name, (sql, fill) in SERIES.items():
        histories[name] = warehouse.read(sql)
        panels[name] = fc.build_panel(histories[name], "series_id", "day", "value", fill, as_of)
        results[name] = fc.forecast_panel(panels[name], settings)
    client = results["client_revenue"].forecast.with_columns(
        series_kind=pl.lit("client"), client_id=pl.col("series_id"),
        platform=pl.lit(None, pl.String))
    platform = results["platform_revenue"].forecast.with_columns(
        series_kind=pl.lit("platform"), client_id=pl.lit(None, pl.String),
        platform=pl.col("series_id"))
    revenue = pl.concat([client, platform]).select(
        "series_kind", "series_id", "client_id", "platform",
        *results["client_revenue"].forecast.columns[1:])
    mrr = results["tier_mrr"].forecast.rename({"series_id": "tier"})
    backtest = pl.concat([r.backtest.select(pl.lit(n).alias("forecast"), pl.all())
                          for n, r in results.items()])
    with warehouse.session() as s:
        s.write("analytics.revenue_forecast", revenue)
        s.write("analytics.mrr_forecast", mrr)
        s.write("analytics.forecast_backtest", backtest)
    common = {"horizon_days_forecast": {n: r.horizon for n, r in results.items()},
              "members_config": list(settings.members)}
    yield dg.MaterializeResult(asset_key=["analytics", "revenue_forecast"], metadata={
        **table_metadata(revenue, FORECAST_COLUMNS), "statuses": _statuses(revenue),
        "horizon_days": {n: results[n].horizon for n in ("client_revenue", "platform_revenue")},
        **_fan("fan_chart_clients", panels["client_revenue"], results["client_revenue"],
               _top_series(histories["client_revenue"], 3),
               "Client daily revenue: the three largest clients"),
        **_fan("fan_chart_platforms", panels["platform_revenue"], results["platform_revenue"],
               _top_series(histories["platform_revenue"], 3),
               "Platform daily revenue (linear attribution): the three largest")})
    yield dg.MaterializeResult(asset_key=["analytics", "mrr_forecast"], metadata={
        **table_metadata(mrr, FORECAST_COLUMNS), "statuses": _statuses(mrr),
        "horizon_days": results["tier_mrr"].horizon,
        **_fan("fan_chart", panels["tier_mrr"], results["tier_mrr"],
               _top_series(histories["tier_mrr"], 4), "MRR per tier")})
    members = pl.concat([r.members.select(pl.lit(n).alias("forecast"), pl.all())
                         for n, r in results.items()])
    timings = {n: {k: round(v, 2) for k, v in r.timings.items()} for n, r in results.items()}
    yield dg.MaterializeResult(asset_key=["analytics", "forecast_backtest"], metadata={
        **table_metadata(backtest, STATUS), **common,
        **plot_entry(backtest, lambda d: histogram_or_statuses(
            d, "mase_ratio", "Backtest MASE relative to seasonal naive (< 1 beats it)",
            "MASE ratio per member x fold x series"), "backtest MASE ratios",
            "no backtest fold fits the history (see seconds_per_member and the members)"),
        "members": dg.MetadataValue.md(markdown_table(members, 3)),
        "members_without_weight": dg.MetadataValue.md(markdown_table(members.filter(
            pl.col("weight") == 0).select("forecast", "member", "mase_ratio", "weight_reason"),
            3)),
        "seconds_per_member": timings})


class CapacityConfig(dg.Config):
    horizons_days: list[int] = Field(default=[30, 60, 90], description="Horizons reported.")
    levels: list[float] = Field(default=[0.8, 0.95], description="Interval levels.")
    warning_days: int = Field(default=30, ge=0, description="An expected crossing within this "
                              "many days writes an alert event.")
    fit_window_days: int = Field(default=120, ge=14, description="Days the trend models fit.")
    folds: int = Field(default=3, ge=1, description="Rolling backtest origins.")
    fold_step_days: int = Field(default=14, ge=1, description="Days between origins.")
    thresholds_path: str | None = Field(default=None, description="A YAML table replacing the "
                                        "packaged analytics/forecasting/capacity_thresholds.yml.")


CAPACITY_COLUMNS = {
    "forecast": "trend forecast of the resource on forecast_date",
    "p_cross_by_horizon": "P(the resource reaches the threshold by this horizon), from the "
                          "backtest residuals (conformal p-value form)",
    "expected_crossing_date": "first day the point forecast (fitted trend in the history) "
                              "reaches the threshold; null if not within 365 days",
    "warning": "expected crossing within warning_days (an alert event is written)",
    "model": "linear or exponential trend (lower backtest MASE)",
    **STATUS,
}
ALERT_SOURCE = "forecasting"


def _alert_events(warehouse: Warehouse, capacity: pl.DataFrame) -> list[dict]:
    """One event per resource with a warning. Its occurred_at is the as-of midnight of the
    first run that raised it (read back from analytics.alert_events), so the same warning on
    the next run has the same event_id and is updated in place, not duplicated."""
    warn = capacity.filter(pl.col("warning")).unique("resource", keep="first").sort("resource")
    known = {}
    if warn.height and warehouse.read(
            "select count(*) as n from information_schema.tables where table_schema = "
            "'analytics' and table_name = 'alert_events'")["n"][0]:
        known = dict(warehouse.read(
            "select entity || '|' || title as k, min(occurred_at) as t from "
            f"analytics.alert_events where source = '{ALERT_SOURCE}' group by 1").iter_rows())
    events = []
    for row in warn.iter_rows(named=True):
        entity = f"capacity:{row['resource']}"
        title = f"{row['resource']} forecast to cross {row['threshold']:g}"
        first = known.get(f"{entity}|{title}") or dt.datetime.combine(row["as_of_date"],
                                                                      dt.time())
        horizons = capacity.filter((pl.col("resource") == row["resource"])
                                   & (pl.col("level") == pl.col("level").min()))
        events.append(alert_event(
            first, ALERT_SOURCE, "critical" if row["days_to_crossing"] <= 0 else "warning",
            entity, title, {
                "expected_crossing_date": row["expected_crossing_date"],
                "days_to_crossing": row["days_to_crossing"], "threshold": row["threshold"],
                "model": row["model"], "as_of_date": row["as_of_date"],
                "p_cross_by_horizon": dict(zip(horizons["horizon_days"].to_list(),
                                               horizons["p_cross_by_horizon"].to_list()))}))
    return events


@dg.asset(key=["analytics", "capacity_forecast"], group_name=DOMAIN.name, owners=DOMAIN.owners,
          kinds=KINDS, deps=[RESOURCES, API])
def capacity_forecast(config: CapacityConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per fleet resource (CPU, memory, disk, queue depth, API requests, p95 latency) x
    horizon (30, 60, 90 days) x level: the trend forecast with its interval, the
    probability of crossing the configured threshold by the horizon and the expected
    crossing date. A crossing expected within warning_days writes an alert event to
    analytics.alert_events (entity capacity:<resource>)."""
    settings = fc.CapacitySettings(horizons=tuple(config.horizons_days),
                                   levels=tuple(config.levels), warning_days=config.warning_days,
                                   fit_window=config.fit_window_days, folds=config.folds,
                                   fold_step=config.fold_step_days)
    limits = fc.thresholds(config.thresholds_path)
    history = warehouse.read(CAPACITY_SQL)
    panel = fc.build_panel(history, "series_id", "day", "value", "interpolate")
    df = fc.capacity_forecast(panel, limits, settings).sort("resource", "horizon_days", "level")
    events = _alert_events(warehouse, df)
    with warehouse.session() as s:
        s.write("analytics.capacity_forecast", df)
        write_alert_events(s, events)
    meta = {**table_metadata(df, CAPACITY_COLUMNS), "statuses": _statuses(df),
            "thresholds": limits, "alert_events_written": len(events),
            "warnings": dg.MetadataValue.md(markdown_table(df.filter(pl.col("warning")).unique(
                "resource", keep="first").select("resource", "threshold",
                                                 "expected_crossing_date", "days_to_crossing")))}
    if df.height:
        meta["forecast_chart"] = png_markdown(plots.capacity_chart(history, df),
                                              "capacity forecasts")
    else:
        meta.update(plot_entry(df, None, "capacity forecasts", "no resource has a forecast"))
    return dg.MaterializeResult(metadata=meta)
