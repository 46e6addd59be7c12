"""Attribution assets: read the marts, call dagster_project.analytics.attribution*, write analytics.*.

The rule-based models are computed in dbt (marts.fct_attribution_touch_credits; their lookback,
half-life and channel filters are dbt vars, set through the dbt assets' run config); the
data-driven models, the bootstrap intervals of every model, the model comparison, ROI and post
revenue impact are computed here, ``channel_attribution`` a batch of clients at a time from
journeys grouped in SQL (``sources``).
"""


from typing import Literal

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field

from dagster_project.analytics.attribution import (
    MARKOV_REVENUE_CREDITS,
    MODELS,
    RULE_MODELS,
    AttributionSettings,
    channel_roi,
)
from dagster_project.analytics.attribution.post_impact import post_revenue_impact
from dagster_project.defs.attribution.plots import channel_credit_chart, pooled_shares
from dagster_project.defs.attribution.sources import WarehouseJourneys
from dagster_project.defs.attribution.staged import (
    ATTRIBUTION,
    COMPARISON,
    READER_MEMORY_LIMIT,
    write_attribution,
)
from dagster_project.domains import domain
from dagster_project.metadata import (
    markdown_table,
    png_markdown,
    table_metadata,
    warehouse_table_metadata,
)
from dagster_project.plots import bars, histogram, plot_entry
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("attribution")
KINDS = {"python", "numpy", "scipy", get_settings().warehouse_backend}

ATTRIBUTION_COLUMNS = {
    "client_id": "Client.",
    "channel": "Channel; '(none)' holds conversions without a touch in their lookback window.",
    "attribution_model": "first_touch, last_touch, linear, time_decay, position_based, markov, shapley.",
    "model_family": "rule_based (computed in dbt) or data_driven.",
    "attributed_conversions": "Conversions credited to the channel (sums to the client's conversions per model).",
    "conversions_lower": "2.5% bootstrap quantile (Poisson bootstrap over journeys, every model refitted).",
    "conversions_upper": "97.5% bootstrap quantile.",
    "attributed_revenue": "Revenue credited to the channel (USD).",
    "revenue_lower": "2.5% bootstrap quantile.",
    "revenue_upper": "97.5% bootstrap quantile.",
    "conversion_share": "attributed_conversions / the client's conversions (null without "
                        "conversions: status no_conversions).",
    "status": "ok, or why values are null: no_conversions (shares), no_intervals (no bootstrap "
              "resamples), non_finite (analytics/attribution/status.py).",
    "status_message": "The status in words.",
}


POOLED_CONVERSIONS_SQL = f"""
select attribution_model, channel, sum(attributed_conversions) as attributed_conversions
from {ATTRIBUTION} group by attribution_model, channel
"""
RECOMMENDED_SQL = f"""
select recommended_model, count(*) as count
from (select distinct client_id, recommended_model from {COMPARISON}) as clients
group by recommended_model order by count desc, recommended_model
"""


class AttributionConfig(dg.Config):
    """What an analyst may change for the data-driven models and the intervals.

    Lookback window, time-decay half-life and channel include/exclude lists belong to the dbt
    marts (run config of the dbt assets: attribution_lookback_days, attribution_half_life_days,
    attribution_include_channels, attribution_exclude_channels)."""

    markov_order: int = Field(default=1, ge=1, le=3, description="Order of the Markov chain (1-3).")
    markov_revenue_credit: Literal[MARKOV_REVENUE_CREDITS] = Field(
        default="conversion_share",
        description="How the Markov model credits revenue: by its conversion removal-effect shares, "
        "or by the removal effects of the expected conversion value (ChannelAttribution's var_value).")
    bootstrap_resamples: int = Field(default=200, ge=0, description="Bootstrap resamples (0 = no intervals).")
    seed: int = Field(default=0, description="Seed of the bootstrap, the held-out split and the "
                      "sampled Shapley values.")
    shapley_prior_strength: float | None = Field(
        default=None, gt=0,
        description="Pseudo-journeys of the pooled channel-set rates in a client's Shapley value "
        "function; empty: estimated by empirical Bayes (beta-binomial marginal likelihood).")
    shapley_pooled_prior_strength: float | None = Field(
        default=None, gt=0,
        description="Pseudo-journeys of the fitted noisy-OR curve in the pooled channel-set rates; "
        "empty: estimated by empirical Bayes; very large: shrink clients straight to noisy-OR.")
    shapley_max_exact_channels: int = Field(
        default=15, ge=1, description="Exact Shapley values up to this many channels, permutation "
        "sampling beyond.")
    min_journeys_for_data_driven: int = Field(
        default=200, description="Below this a client's recommended model is position_based.")
    client_batch_groups: int = Field(
        default=AttributionSettings.client_batch_groups, ge=1,
        description="Clients are fitted in batches of consecutive client ids, memory following "
        "the batch size: a new batch starts after about this many client x channel path groups "
        "(a client is never split). The results do not depend on the batch sizes.")
    client_batch_clients: int = Field(
        default=AttributionSettings.client_batch_clients, ge=1,
        description="A new batch also starts after this many clients.")
    reader_memory_limit: str = Field(
        default=READER_MEMORY_LIMIT,
        description="DuckDB only: the warehouse's memory limit while the batches are read and "
        "written (its cache of the marts' blocks otherwise grows with the marts; queries spill "
        "past it).")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["analytics", "channel_attribution"],
                     deps=[["marts", "fct_attribution_paths"], ["marts", "fct_attribution_touch_credits"]],
                     description="Per client x channel x model: attributed conversions and revenue "
                     "with 95% bootstrap intervals, for the five rule-based models (dbt) and the "
                     "Markov and Shapley models. Conserved: per client and model the credits sum to "
                     "its conversions and revenue.",
                     group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS),
        dg.AssetSpec(["analytics", "attribution_model_comparison"],
                     deps=[["marts", "fct_attribution_paths"]],
                     description="Per client x channel: each model's share side by side, the "
                     "disagreement (max - min share) and the client's recommended_model with the "
                     "reason (the data-driven model with the better held-out log-loss; "
                     "position_based below the journey or order thresholds or without held-out "
                     "journeys).",
                     group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS),
    ],
    can_subset=False,
)
def channel_attribution(context: dg.AssetExecutionContext, config: AttributionConfig,
                        warehouse: Warehouse):
    """Fit every attribution model per client, bootstrap the intervals, compare the models:
    the journeys grouped in the warehouse and read a batch of clients at a time (twice: the
    pooled fits first, then every client's models, each batch's rows staged in the warehouse
    as it is fitted and both tables replaced from them at the end, in one transaction)."""
    settings = AttributionSettings(
        markov_order=config.markov_order, markov_revenue_credit=config.markov_revenue_credit,
        bootstrap_resamples=config.bootstrap_resamples, seed=config.seed,
        prior_strength=config.shapley_prior_strength,
        pooled_prior_strength=config.shapley_pooled_prior_strength,
        max_exact_channels=config.shapley_max_exact_channels,
        min_journeys=config.min_journeys_for_data_driven,
        client_batch_groups=config.client_batch_groups,
        client_batch_clients=config.client_batch_clients)
    with warehouse.session() as s:
        written = write_attribution(s, WarehouseJourneys(s), settings, config.reader_memory_limit)
        # what the metadata shows is read back in SQL: nothing here grows with the clients
        attribution_meta = warehouse_table_metadata(s, ATTRIBUTION, ATTRIBUTION_COLUMNS)
        comparison_meta = warehouse_table_metadata(s, COMPARISON)
        shares = pooled_shares(s.read(POOLED_CONVERSIONS_SQL))
        recommended = s.read(RECOMMENDED_SQL)
        disagreement = s.read(f"select disagreement from {COMPARISON}")
    context.log.info(f"attribution: {written.journeys} journeys, recommended models {recommended.rows()}")
    yield dg.MaterializeResult(
        asset_key=["analytics", "channel_attribution"],
        metadata={
            **attribution_meta,
            "journeys": written.journeys,
            "client_batches": written.batches,
            "shapley_prior_strength": dg.MetadataValue.float(written.shapley_prior.strength),
            "shapley_pooled_prior_strength": dg.MetadataValue.float(
                written.shapley_prior.pooled_strength),
            "pooled_conversion_probability": dg.MetadataValue.json(
                {c: round(float(-np.expm1(-q)), 5)
                 for c, q in zip(written.channels, written.shapley_prior.q)}),
            "channel_credit_chart": png_markdown(channel_credit_chart(shares, list(MODELS)),
                                                 "channel credit per model"),
            "pooled_channel_shares": dg.MetadataValue.md(markdown_table(shares)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["analytics", "attribution_model_comparison"],
        metadata={
            **comparison_meta,
            "comparison": dg.MetadataValue.md(markdown_table(shares)),
            "recommended_models": dg.MetadataValue.md(markdown_table(recommended)),
            **plot_entry(disagreement, lambda d: histogram(
                d["disagreement"], "Model disagreement per client x channel",
                "max - min channel share over the attribution models"), "model disagreement"),
        },
    )


@dg.asset(
    key=["analytics", "attribution_roi"],
    deps=[["analytics", "channel_attribution"], ["marts", "fct_marketing_spend_daily"]],
    group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS,
)
def attribution_roi(warehouse: Warehouse) -> dg.MaterializeResult:
    """Per client x channel x model: marketing spend, attributed conversions and revenue, ROAS
    (revenue / spend) and CPA (spend / conversions) over the whole history; null where the
    denominator is 0, with the status saying which (no_spend, no_attributed_conversions)."""
    attribution = warehouse.read("select * from analytics.channel_attribution")
    spend = warehouse.read("select client_id, channel, sum(spend) as spend "
                           "from marts.fct_marketing_spend_daily group by client_id, channel")
    roi = channel_roi(attribution, spend)
    warehouse.write("analytics.attribution_roi", roi, "replace")
    pooled = roi.group_by("attribution_model", "channel").agg(
        pl.col("spend").sum(), pl.col("attributed_revenue").sum()).with_columns(
        pl.when(pl.col("spend") > 0).then(pl.col("attributed_revenue") / pl.col("spend"))
        .alias("roas")).sort("attribution_model", "channel")
    return dg.MaterializeResult(metadata={**table_metadata(roi),
                                          "pooled_roas": dg.MetadataValue.md(markdown_table(pooled, 2)),
                                          **plot_entry(pooled.filter(pl.col("roas").is_not_null()),
                                                       _roas_chart, "pooled ROAS",
                                                       "no channel has marketing spend")})


def _roas_chart(pooled: pl.DataFrame):
    """Pooled ROAS per channel: the median over the attribution models, whiskers the models'
    range."""
    per = pooled.group_by("channel").agg(pl.col("roas").median().alias("mid"),
                                         pl.col("roas").min().alias("lo"),
                                         pl.col("roas").max().alias("hi")).sort("mid", descending=True)
    return bars(per["channel"].to_list(), per["mid"], "Pooled ROAS per channel (all clients)",
                "attributed revenue / spend: median over models, whiskers min to max",
                per["lo"], per["hi"])


class PostImpactConfig(dg.Config):
    credit_model: str = Field(default="position_based",
                              description=f"Rule-based model whose touch credits reach posts: {', '.join(RULE_MODELS)}.")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["analytics", "post_revenue_impact"],
                     deps=[["marts", "fct_attribution_touch_credits"], ["marts", "fct_content_performance"]],
                     description="Per content item: touches, conversions and revenue attributed to it "
                     "(touch-level credit of one rule-based model) and the part explained by its "
                     "platform, type and flags (client fixed-effects regression).",
                     group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS),
        dg.AssetSpec(["analytics", "post_revenue_drivers"],
                     deps=[["marts", "fct_attribution_touch_credits"], ["marts", "fct_content_performance"]],
                     description="The regression behind post_revenue_impact: revenue per post on "
                     "platform, content type, automated and viral-optimized with client fixed effects "
                     "(HC1 errors), and the suggestion each estimate supports. Every term has a "
                     "row; a status other than ok (no_posts, no_within_client_variation, "
                     "collinear, no_residual_dof, no_residual_variance) says why its statistics "
                     "are null.",
                     group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS),
    ],
    can_subset=False,
)
def post_revenue(context: dg.AssetExecutionContext, config: PostImpactConfig, warehouse: Warehouse):
    """Attributed revenue per post and the factors that explain it."""
    if config.credit_model not in RULE_MODELS:
        raise dg.Failure(f"credit_model must be one of {RULE_MODELS}, got {config.credit_model!r}")
    content = warehouse.read("select content_id, client_id, platform, content_type, automated, "
                             "viral_optimized from marts.fct_content_performance")
    credits = warehouse.read(
        "select content_id, credit, revenue_credit from marts.fct_attribution_touch_credits "
        f"where attribution_model = '{config.credit_model}' and content_id is not null")
    impact = post_revenue_impact(content, credits)
    with warehouse.session() as s:
        s.write("analytics.post_revenue_impact", impact.posts, "replace")
        s.write("analytics.post_revenue_drivers", impact.drivers, "replace")
    yield dg.MaterializeResult(asset_key=["analytics", "post_revenue_impact"],
                               metadata={**table_metadata(impact.posts), "credit_model": config.credit_model,
                                         **plot_entry(impact.posts, lambda d: histogram(
                                             d["attributed_revenue"], "Attributed revenue per post",
                                             f"USD ({config.credit_model} credit)"),
                                             "attributed revenue per post", "no content items")})
    yield dg.MaterializeResult(
        asset_key=["analytics", "post_revenue_drivers"],
        metadata={**table_metadata(impact.drivers),
                  "suggestions": dg.MetadataValue.md("\n".join(f"- {s}" for s in impact.drivers["suggestion"])),
                  **plot_entry(impact.drivers, lambda d: bars(
                      d["term"].to_list(), d["estimate"], "Revenue per post: estimated effects",
                      "USD per post (client fixed effects), whiskers the CI (null: see status)",
                      d["ci_lower"], d["ci_upper"]), "post revenue drivers")})


attribution_assets = [channel_attribution, attribution_roi, post_revenue]
