"""Performance assets: read the performance marts, call dagster_project.analytics.performance,
write analytics.*, and write an alert event for every service hour that burns its error budget
fast (analytics.alert_events, through dagster_project.alert_events)."""

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.alert_events import alert_event, write_alert_events
from dagster_project.analytics import performance as pf
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, png_markdown, table_metadata
from dagster_project.plots import bars, histogram_or_statuses, plot_entry, rows_by
from dagster_project.plots import plt as pyplot
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("performance")
KINDS = {"python", "polars", get_settings().warehouse_backend}
API = dg.AssetKey(["marts", "fct_api_performance_hourly"])
GENERATION = dg.AssetKey(["marts", "fct_content_generation_daily"])
ALERT_SOURCE = "performance_slo"

STATUS = {"status": "Why a row has no statistics (null unless ok): " + "; ".join(
    f"{k}: {v}" for k, v in pf.STATUS_CODES.items()), "status_message": "The status's reason, in words.",
    "health": "healthy, warning or critical by the documented rules (README, Performance)."}
COLUMNS = {
    "burn_1h": "Error ratio over the trailing hour / (1 - SLO).",
    "burn_6h": "The same over the trailing 6 hours.",
    "burn_3d": "The same over the trailing 72 hours.",
    "budget_remaining": "1 - errors / (error budget x requests) over the trailing SLO period.",
    "fast_burn": "burn_1h >= fast threshold (14.4): page.",
    "slow_burn": "burn_6h and burn_1h >= slow threshold (6): page.",
    "ticket": "burn_3d and burn_6h >= ticket threshold (1): ticket.",
    "p95_ratio": "p95 over the window / p95 over the baseline.",
    **STATUS,
}


class PerformanceConfig(dg.Config):
    slo: float = Field(default=0.999, gt=0, lt=1, description="Availability objective (request based).")
    budget_days: int = Field(default=30, ge=3, description="SLO period (days) of the error budget.")
    fast_burn: float = Field(default=14.4, gt=0, description="1-hour burn rate that pages.")
    slow_burn: float = Field(default=6.0, gt=0, description="6-hour (and 1-hour) burn rate that pages.")
    ticket_burn: float = Field(default=1.0, gt=0, description="3-day (and 6-hour) burn rate that opens a ticket.")
    latency_window_days: int = Field(default=7, ge=1, description="Recent window of the latency percentiles.")
    latency_baseline_days: int = Field(default=28, ge=1, description="Baseline window before it.")
    latency_warning_ratio: float = Field(default=1.5, gt=1, description="p95 / baseline p95 that warns.")
    latency_critical_ratio: float = Field(default=3.0, gt=1, description="p95 / baseline p95 that is critical.")
    generation_window_days: int = Field(default=7, ge=1, description="Window of the content-generation figures.")
    warning_success_rate: float = Field(default=0.9, gt=0, lt=1, description="Generation success rate whose "
                                        "interval's upper bound below it warns.")
    critical_success_rate: float = Field(default=0.8, gt=0, lt=1, description="... is critical.")
    alert_lookback_hours: int = Field(default=24, ge=1, description="Fast-burn hours this recent (before the "
                                      "newest hour) are written as alert events; re-runs never duplicate one.")


def fast_burn_events(burn: pl.DataFrame, lookback_hours: int) -> list[dict]:
    newest = burn["hour_at"].max()
    if newest is None:
        return []
    recent = burn.filter(pl.col("fast_burn") & (pl.col("hour_at") > newest - pl.duration(hours=lookback_hours)))
    return [alert_event(r["hour_at"], ALERT_SOURCE, "critical", r["service"],
                        f"{r['service']}: fast error-budget burn",
                        {"burn_1h": r["burn_1h"], "burn_6h": r["burn_6h"], "burn_3d": r["burn_3d"],
                         "availability": r["availability"], "slo": r["slo"], "requests": r["requests"],
                         "errors": r["errors"]})
            for r in recent.iter_rows(named=True)]  # the few alerting hours, not the data


def _spec(name: str, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(["analytics", name], deps=deps, description=description,
                        group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS)


@dg.multi_asset(
    specs=[
        _spec("performance_slo_burn", "Per service x hour: requests, errors, availability against the SLO, "
              "error-budget burn rates over 1 h / 6 h / 3 d, budget remaining, the alert rules that fire "
              "and the health.", [API]),
        _spec("performance_latency", "Per endpoint: p50 / p95 / p99 latency over the recent window and its "
              "baseline, the p95 ratio and the health.", [API]),
        _spec("content_generation_performance", "Per client and for the platform (client_id null): "
              "content-generation jobs, success rate with its Wilson interval, mean duration, health.",
              [GENERATION]),
        _spec("performance_status", "The overall performance status (healthy, warning, critical) and "
              "each component's (service SLOs, endpoint latency, content generation) with the reason.",
              [API, GENERATION]),
    ],
    can_subset=False,
)
def performance(context: dg.AssetExecutionContext, config: PerformanceConfig, warehouse: Warehouse):
    """SLO burn rates, latency, content generation and the overall status; fast burns alert."""
    rules = pf.BurnRules(config.slo, config.budget_days, config.fast_burn, config.slow_burn, config.ticket_burn)
    api = warehouse.read("select service, endpoint, hour_at, requests, errors, latency_p50_ms, latency_p95_ms, "
                         "latency_p99_ms from marts.fct_api_performance_hourly")
    burn = pf.burn_rates(api, rules)
    latency = pf.endpoint_latency(api, pf.LatencyRules(config.latency_window_days, config.latency_baseline_days,
                                                       config.latency_warning_ratio, config.latency_critical_ratio))
    generation = pf.generation_performance(
        warehouse.read("select * from marts.fct_content_generation_daily"),
        pf.GenerationRules(config.generation_window_days, config.warning_success_rate, config.critical_success_rate))
    status = pf.overall_status(burn, latency, generation)
    events = fast_burn_events(burn, config.alert_lookback_hours)
    with warehouse.session() as s:
        s.write("analytics.performance_slo_burn", burn, "replace")
        s.write("analytics.performance_latency", latency, "replace")
        s.write("analytics.content_generation_performance", generation, "replace")
        s.write("analytics.performance_status", status, "replace")
        written = write_alert_events(s, events)
    overall = status.filter(pl.col("component_type") == "overall").row(0, named=True)
    context.log.info(f"performance: {overall['health']} ({overall['reason']}); {written} fast-burn alert events")
    meta = {"performance_slo_burn": {"fast_burn_alerts": written,
                                     "burn_chart": png_markdown(_burn_chart(burn, rules), "burn rates")},
            "performance_status": {"overall_health": overall["health"],
                                   **plot_entry(status, lambda d: rows_by(
                                       d, "health", "Components per health"), "health")},
            "performance_latency": plot_entry(latency, lambda d: bars(
                [f"{s} {e}" for s, e in d.select("service", "endpoint").iter_rows()],
                d["p95_ratio"], "p95 latency vs baseline", "p95 / baseline p95"),
                "p95 ratio", "no endpoint has requests in the window"),
            "content_generation_performance": plot_entry(generation, lambda d: histogram_or_statuses(
                d, "success_rate", "Content generation success rate per client x window",
                "success rate"), "success rates", "no content generation in the window")}
    for name, df in (("performance_slo_burn", burn), ("performance_latency", latency),
                     ("content_generation_performance", generation), ("performance_status", status)):
        preview = {"latest": dg.MetadataValue.md(markdown_table(df.filter(pl.col("hour_at") == pl.col("hour_at").max())))
                   } if name == "performance_slo_burn" else {}
        yield dg.MaterializeResult(asset_key=["analytics", name],
                                   metadata={**table_metadata(df, COLUMNS), **preview, **meta.get(name, {})})


def _burn_chart(burn: pl.DataFrame, rules: pf.BurnRules):
    plt = pyplot()

    recent = burn.filter(pl.col("hour_at") > pl.col("hour_at").max() - pl.duration(days=7))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for (service,), g in recent.partition_by("service", as_dict=True).items():
        ax.plot(g["hour_at"].to_list(), g["burn_6h"].to_list(), label=service, lw=0.9)
    ax.axhline(rules.slow_burn, color="red", ls="--", lw=0.8, label="slow-burn page")
    ax.axhline(rules.ticket_burn, color="orange", ls="--", lw=0.8, label="ticket")
    ax.set_yscale("log")
    ax.set_ylabel("6-hour burn rate")
    ax.legend(fontsize=6)
    fig.autofmt_xdate()
    return fig


performance_assets = [performance]
