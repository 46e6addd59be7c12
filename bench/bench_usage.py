"""Usage, performance and insights: the three groups' Python assets (and the usage status
checks) on the scale's marts in one in-process Dagster run, then the insights group's reporting
model (reporting.rpt_client_business_metrics) by dbt; the issue's target is the three groups
together under 60 s.

Prerequisites, built beforehand and not timed: the marts, and the attribution tables (20
bootstrap resamples). The other analytics groups are not run here, so the insights read what
exists (usage, attribution, content generation) and make no experiment, churn, pricing,
anomaly, forecast or ROI insight: the figure is the insights asset over those inputs."""

from __future__ import annotations

import shutil

from bench_dbt import dbt_cli
from bench_ingest import ensure_raw_warehouse
from benchlib import Context, Record

ORDER = 65
GROUPS_TARGET_S = 60.0
MARTS = ["+fct_platform_usage_daily", "+fct_content_performance", "+fct_feature_adoption_by_tier",
         "+fct_feature_time_saved_daily", "+fct_feature_usage_daily", "+fct_revenue_daily", "+fct_attribution_paths",
         "+fct_attribution_touch_credits", "+fct_api_performance_hourly", "+fct_content_generation_daily",
         "+rpt_client_business_metrics"]


def dbt_run(duckdb_path: str, target_path: str, log_path: str) -> dict:
    import os

    os.environ.update(BI_DUCKDB_PATH=duckdb_path, DBT_TARGET="duckdb", DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    return dbt_cli(["run", "--select", *MARTS], target_path, log_path)


def business_metrics(duckdb_path: str, target_path: str, log_path: str) -> dict:
    """The insights group's reporting model, after the Python assets (it reads their tables)."""
    import os

    os.environ.update(BI_DUCKDB_PATH=duckdb_path, DBT_TARGET="duckdb", DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    return dbt_cli(["run", "--select", "rpt_client_business_metrics"], target_path, log_path)


def attribution_inputs(duckdb_path: str) -> dict:
    """analytics.channel_attribution and attribution_model_comparison, which the usage group
    reads (20 bootstrap resamples: prerequisites, not timed)."""
    from dagster_project.devtools.attribution_tables import write_attribution_tables
    from dagster_project.warehouse import Warehouse

    return {"clients": write_attribution_tables(Warehouse(duckdb_path=duckdb_path), 20)}


def materialize_groups(duckdb_path: str) -> dict:
    """The usage, performance and insights groups' Python assets and checks, in one in-process run."""
    import time

    import dagster as dg

    from dagster_project.defs.insights.assets import insights_assets
    from dagster_project.defs.performance.assets import performance_assets
    from dagster_project.defs.usage.assets import usage_assets
    from dagster_project.defs.usage.checks import usage_checks
    from dagster_project.warehouse import Warehouse

    wh = Warehouse(duckdb_path=duckdb_path)
    started = time.perf_counter()
    result = dg.materialize(usage_assets + usage_checks + performance_assets + insights_assets,
                            resources={"warehouse": wh})
    seconds = time.perf_counter() - started
    steps = {e.step_key: e.event_specific_data.duration_ms / 1000 for e in result.all_events
             if e.event_type_value == "STEP_SUCCESS" and e.step_key}
    n = lambda t: int(wh.read(f"select count(*) as n from {t}")["n"][0])
    return {"success": result.success, "seconds": seconds, "steps": steps,
            "posts": n("marts.fct_content_performance"), "api_hours": n("marts.fct_api_performance_hourly"),
            "client_platforms": n("analytics.usage_platform_summary"), "insights": n("analytics.insights"),
            "insight_clients": n("(select distinct client_id from analytics.insights) as c"),
            "fast_burn_hours": n("analytics.performance_slo_burn where fast_burn"),
            "overall_health": wh.read("select health from analytics.performance_status "
                                      "where component_type = 'overall'")["health"][0]}


def run(ctx: Context) -> list[Record]:
    raw = ensure_raw_warehouse(ctx)
    db = ctx.path("usage-groups", raw.name)
    shutil.copyfile(raw, db)
    ctx.measure("bench_usage:dbt_run", label="usage-dbt", duckdb_path=str(db),
                target_path=str(ctx.dir("usage-dbt-target")), log_path=str(ctx.dir("usage-dbt-logs")))
    ctx.measure("bench_usage:attribution_inputs", label="usage-attribution", duckdb_path=str(db))
    g = ctx.measure("bench_usage:materialize_groups", label="usage-groups", duckdb_path=str(db))
    b = ctx.measure("bench_usage:business_metrics", label="usage-business-metrics", duckdb_path=str(db),
                    target_path=str(ctx.dir("usage-report-target")), log_path=str(ctx.dir("usage-report-logs")))
    r = g.result
    total = g.seconds + b.seconds
    slowest = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(r["steps"].items(), key=lambda kv: -kv[1])[:4])
    return [Record.from_measurement(
        "usage + performance + insights groups (Python assets, then the business-metrics model)", total, "s", g,
        target=GROUPS_TARGET_S, passed=r["success"] and total <= GROUPS_TARGET_S,
        notes=f"{r['posts']:,} posts, {r['client_platforms']:,} client x platforms, {r['api_hours']:,} "
        f"endpoint-hours ({r['fast_burn_hours']} fast-burn service hours, overall {r['overall_health']}); "
        f"{r['insights']:,} insights for {r['insight_clients']:,} clients; Dagster run {g.seconds:.1f} s "
        f"(in-run {r['seconds']:.1f} s; insights step {r['steps'].get('analytics__insights', float('nan')):.1f} s), "
        f"dbt business metrics {b.seconds:.1f} s; slowest steps: {slowest}; marts and attribution built "
        "beforehand (not timed); the other analytics groups are not run, so the insights kinds that read "
        "them make nothing")]
