"""Insights asset: read the analytics tables of every group (and the clients' MRR), call
dagster_project.analytics.insights, write analytics.insights."""

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.analytics import insights as ins
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, table_metadata
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("insights")
KINDS = {"python", "polars", get_settings().warehouse_backend}

# InsightInputs field -> the table it reads
TABLES = {
    "platform_summary": "analytics.usage_platform_summary",
    "platform_trends": "analytics.usage_platform_trends",
    "automation_savings": "analytics.automation_savings",
    "attribution_roi": "analytics.attribution_roi",
    "channel_attribution": "analytics.channel_attribution",
    "model_comparison": "analytics.attribution_model_comparison",
    "experiment_results": "analytics.experiment_results",
    "experiments": "analytics.experiments",
    "churn_risk": "analytics.client_churn_risk",
    "clients": "marts.dim_clients",
    "price_recommendations": "analytics.price_recommendations",
    "metric_anomalies": "analytics.metric_anomalies",
    "revenue_forecast": "analytics.revenue_forecast",
    "content_generation": "analytics.content_generation_performance",
}

COLUMNS = {
    "client_id": "The client the insight is for; null: a platform-wide insight (pricing, platform metrics, "
                 "platform-wide experiments), ranked among themselves.",
    "rank": "1 = first: impact level, then money impact x confidence, then confidence (README, Insights).",
    "insight_kind": "The kind (analytics/insights/insight_kinds.yml).",
    "metric_type": "revenue, engagement, conversion, reach, efficiency, roi, pricing, experiment or anomaly.",
    "subject": "What the insight is about: platform, channel, experiment, tier, metric:entity, ...",
    "sentence": "The insight, from the kind's template.",
    "recommendation": "What to do about it, from the kind's template.",
    "confidence": "In [0, 1], by the kind's rule (insight_kinds.yml, README).",
    "impact_level": "high (money impact >= high_impact), medium (>= medium_impact) or low.",
    "money_impact": "USD the insight's impact is judged on (null: the kind has no money figure).",
    "supporting_numbers": "JSON: every number the texts show, rounded exactly as shown (percent in percent).",
    "source": "The analytics tables behind it.",
}


class InsightsConfig(dg.Config):
    max_per_client: int = Field(default=10, ge=1, description="Insights kept per client (the best ranked).")
    high_impact: float = Field(default=1000.0, ge=0, description="Money impact (USD) from which an insight is high.")
    medium_impact: float = Field(default=100.0, ge=0, description="Money impact (USD) from which it is medium.")


def read_inputs(warehouse: Warehouse) -> ins.InsightInputs:
    """Every table the insights read, None for one that does not exist yet."""
    return ins.InsightInputs(**{field: warehouse.read(f"select * from {table}")
                                if warehouse.table_exists(table) else None
                                for field, table in TABLES.items()})


@dg.asset(key=["analytics", "insights"], group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS,
          deps=[dg.AssetKey(t.split(".")) for t in TABLES.values()])
def insights(context: dg.AssetExecutionContext, config: InsightsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per client, ranked insights from every analytics group (attribution, experiments,
    customers, pricing, monitoring, forecasting, usage, performance): the kind, its metric type,
    a sentence and a recommendation from the kind's template, a confidence in [0, 1] by the
    kind's rule, an impact level by money impact, and the supporting numbers as JSON (each as
    the sentence shows it). Only rows whose status is ok and that meet the kind's minimums
    give an insight; at most `max_per_client` per client."""
    settings = ins.InsightSettings(config.max_per_client, config.high_impact, config.medium_impact)
    df = ins.build_insights(read_inputs(warehouse), settings)
    warehouse.write("analytics.insights", df, "replace")
    kinds = df.group_by("insight_kind", "metric_type").agg(pl.len().alias("insights"),
                                                           pl.col("client_id").n_unique().alias("clients"))
    context.log.info(f"insights: {df.height} for {df['client_id'].n_unique()} clients")
    return dg.MaterializeResult(metadata={
        **table_metadata(df, COLUMNS),
        "kinds": dg.MetadataValue.md(markdown_table(kinds.sort("insight_kind"))),
        "top_insights": dg.MetadataValue.md(markdown_table(
            df.filter(pl.col("rank") == 1).head(10).select("client_id", "sentence", "confidence", "impact_level")))})


insights_assets = [insights]
