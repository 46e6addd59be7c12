"""Usage assets: read the marts (and the attribution tables), call
dagster_project.analytics.usage, write analytics.*.

Weeks are the full ISO weeks inside the data's days (marts.fct_platform_usage_daily). A post is
"complete" once it has been observed for its whole engagement window (``complete_days``)."""

import datetime as dt

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.analytics import usage as us
from dagster_project.analytics.attribution import RULE_MODELS
from dagster_project.defs.usage import plots
from dagster_project.defs.usage.columns import COLUMNS
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, png_markdown, table_metadata
from dagster_project.plots import bars, histogram_or_statuses, plot_entry, rows_by
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("usage")
KINDS = {"python", "polars", get_settings().warehouse_backend}
PLATFORM_LIST = ", ".join(f"'{p}'" for p in us.PLATFORMS)


def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


def _spec(name: str, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(["analytics", name], deps=deps, description=description,
                        group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS)


def _result(name: str, df: pl.DataFrame, **extra) -> dg.MaterializeResult:
    meta = {**table_metadata(df, COLUMNS), **extra}
    if "status" in df.columns:
        counts = df.group_by("status").len().sort("status")
        meta["statuses"] = dg.MetadataValue.md(markdown_table(counts.join(us.status_table(), on="status", how="left")))
    return dg.MaterializeResult(asset_key=["analytics", name], metadata=meta)


def data_weeks(warehouse: Warehouse) -> pl.Series:
    span = warehouse.read("select min(activity_date) as first_day, max(activity_date) as last_day "
                          "from marts.fct_platform_usage_daily").row(0)
    return us.full_weeks(*span) if span[0] is not None else us.full_weeks(dt.date(2000, 1, 1), dt.date(2000, 1, 1))


def complete_posts(warehouse: Warehouse, complete_days: int) -> pl.DataFrame:
    return warehouse.read(
        "select client_id, platform, content_type, viral_optimized, automated, impressions, engagements, "
        "published_at from marts.fct_content_performance "
        f"where is_published and days_observed >= {int(complete_days)}").with_columns(
        pl.col("published_at").dt.hour().cast(pl.Int64).alias("publish_hour"),
        pl.col("published_at").dt.weekday().cast(pl.Int64).alias("publish_weekday"))


def platform_panel(warehouse: Warehouse, time_profile_model: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(weekly client x platform panel, recommended-model revenue totals per client x platform)."""
    weeks = data_weeks(warehouse)
    usage = warehouse.read("select client_id, platform, activity_date, posts_published, impressions, "
                           "engagements from marts.fct_platform_usage_daily")
    totals = warehouse.read(f"""
        select a.client_id, a.channel as platform, a.attribution_model, a.attributed_revenue,
            a.revenue_lower, a.revenue_upper
        from analytics.channel_attribution as a
        inner join (select distinct client_id, recommended_model
                    from analytics.attribution_model_comparison) as m
            on a.client_id = m.client_id and a.attribution_model = m.recommended_model
        where a.channel in ({PLATFORM_LIST})""")
    rule = warehouse.read(f"""
        select client_id, channel as platform, cast(date_trunc('week', converted_at) as date) as week_start,
            sum(revenue_credit) as revenue
        from marts.fct_attribution_touch_credits
        where attribution_model = '{time_profile_model}' and channel in ({PLATFORM_LIST})
        group by 1, 2, 3""")
    return us.weekly_panel(usage, us.scaled_weekly_revenue(rule, totals), weeks), totals


class PlatformConfig(dg.Config):
    time_profile_model: str = Field(
        default="position_based", description="Rule-based model whose touch credits by conversion "
        f"week give attributed revenue its time profile ({', '.join(RULE_MODELS)}); the level is "
        "the client's recommended model's.")
    min_weeks: int = Field(default=4, ge=3, description="Full weeks a trend needs.")
    min_correlation_weeks: int = Field(default=20, ge=5, description="Client weeks a correlation needs.")
    level: float = Field(default=0.95, gt=0, lt=1, description="Level of every interval.")


@dg.multi_asset(
    specs=[
        _spec("usage_platform_summary", "Per client x platform: posts, impressions, engagements, "
              "engagement rate, revenue credited by the client's recommended attribution model with "
              "its bootstrap interval, revenue share and rank, and whether the top platform's "
              "interval lies above every other's.",
              [_mart("fct_platform_usage_daily"), dg.AssetKey(["analytics", "channel_attribution"]),
               dg.AssetKey(["analytics", "attribution_model_comparison"])]),
        _spec("usage_platform_trends", "Per client x platform x metric (posts, engagement_rate, "
              "attributed_revenue): the weekly OLS trend with its t interval, absolute and relative.",
              [_mart("fct_platform_usage_daily"), _mart("fct_attribution_touch_credits"),
               dg.AssetKey(["analytics", "channel_attribution"])]),
        _spec("usage_platform_correlations", "Within-client correlations of weekly engagements and "
              "attributed revenue across platforms (every pair of series), with Fisher intervals.",
              [_mart("fct_platform_usage_daily"), _mart("fct_attribution_touch_credits")]),
    ],
    can_subset=False,
)
def usage_platforms(context: dg.AssetExecutionContext, config: PlatformConfig, warehouse: Warehouse):
    """What each platform gives each client, its trends and the cross-platform correlations."""
    if config.time_profile_model not in RULE_MODELS:
        raise dg.Failure(f"time_profile_model must be one of {RULE_MODELS}, got {config.time_profile_model!r}")
    panel, totals = platform_panel(warehouse, config.time_profile_model)
    summary = us.platform_summary(panel, totals)
    trends = us.platform_trends(panel, config.level, config.min_weeks)
    correlations = us.platform_correlations(panel, config.level, config.min_correlation_weeks)
    with warehouse.session() as s:
        s.write("analytics.usage_platform_summary", summary, "replace")
        s.write("analytics.usage_platform_trends", trends, "replace")
        s.write("analytics.usage_platform_correlations", correlations, "replace")
    context.log.info(f"usage platforms: {summary.height} client x platform rows")
    yield _result("usage_platform_summary", summary,
                  revenue_by_platform=png_markdown(plots.revenue_by_platform(summary), "revenue by platform"))
    yield _result("usage_platform_trends", trends, **plot_entry(trends, lambda d: histogram_or_statuses(
        d, "relative_slope", "Weekly trend per client x platform x metric",
        "relative slope (share of the mean per week)"), "trends", "no client x platform has weeks"))
    yield _result("usage_platform_correlations", correlations, **plot_entry(
        correlations, lambda d: histogram_or_statuses(d, "correlation", "Cross-platform correlations",
                                                      "correlation"),
        "correlations", "fewer than two platforms"))


class AdoptionConfig(dg.Config):
    step_days: int = Field(default=7, ge=1, description="Days between the points of an adoption curve.")
    level: float = Field(default=0.95, gt=0, lt=1, description="Level of the intervals.")


@dg.multi_asset(
    specs=[
        _spec("usage_feature_adoption_curves", "Per feature x days since sign-up: the Kaplan-Meier "
              "share of clients who have used the feature, with Greenwood intervals.",
              [_mart("fct_feature_adoption"), _mart("dim_clients"), _mart("fct_feature_usage_daily")]),
        _spec("usage_adoption_by_tier", "Per tier x feature: active clients who have used the "
              "feature, the adoption rate and its Wilson interval.", [_mart("fct_feature_adoption_by_tier")]),
    ],
    can_subset=False,
)
def usage_adoption(config: AdoptionConfig, warehouse: Warehouse):
    """Feature adoption curves after sign-up and adoption by tier."""
    clients = warehouse.read("select client_id, signup_at from marts.dim_clients")
    adoption = warehouse.read("select client_id, feature_name, first_used_at from marts.fct_feature_adoption")
    as_of = warehouse.read("select max(usage_date) as d from marts.fct_feature_usage_daily")["d"][0]
    as_of = dt.datetime.combine(as_of, dt.time()) + dt.timedelta(days=1) if as_of else dt.datetime(2000, 1, 1)
    curves = us.adoption_curves(clients, adoption, as_of, config.step_days, config.level)
    tiers = us.adoption_by_tier(warehouse.read("select * from marts.fct_feature_adoption_by_tier"), config.level)
    with warehouse.session() as s:
        s.write("analytics.usage_feature_adoption_curves", curves, "replace")
        s.write("analytics.usage_adoption_by_tier", tiers, "replace")
    yield _result("usage_feature_adoption_curves", curves,
                  adoption_curves=png_markdown(plots.adoption_curves(curves), "adoption curves"))
    yield _result("usage_adoption_by_tier", tiers, **plot_entry(tiers, _adoption_chart,
                                                                "adoption by tier", "no tier has clients"))


class FeatureEffectsConfig(dg.Config):
    min_clients: int = Field(default=10, ge=2, description="Clients in whom the regressor varies "
                             "(adopters during the panel; clients with and without the flag) that "
                             "an estimate needs.")
    complete_days: int = Field(default=14, ge=1, description="Days of engagement a post needs to count "
                               "as complete (the platforms' engagement window).")
    level: float = Field(default=0.95, gt=0, lt=1, description="Level of the intervals.")


@dg.asset(key=["analytics", "usage_feature_effects"], group_name=DOMAIN.name, owners=DOMAIN.owners,
          kinds=KINDS, deps=[_mart("fct_revenue_daily"), _mart("fct_feature_adoption"), _mart("dim_clients"),
                             _mart("fct_content_performance"), _mart("fct_platform_usage_daily")])
def usage_feature_effects(config: FeatureEffectsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per feature x outcome: the association of adopting a feature with the client's weekly
    revenue (client and week fixed effects) and of a post's viral optimization and automation
    with its impressions and engagements (client fixed effects, platform x type
    controls), each with a client-clustered interval and a relative lift."""
    weeks = data_weeks(warehouse)
    panel = us.client_week_revenue(
        warehouse.read("select client_id, revenue_date, revenue from marts.fct_revenue_daily"),
        warehouse.read("select client_id, signup_at from marts.dim_clients"), weeks)
    adoption = warehouse.read("select client_id, feature_name, first_used_at from marts.fct_feature_adoption")
    effects = pl.concat([
        us.adoption_revenue_effects(panel, adoption, config.level, config.min_clients),
        us.content_flag_effects(complete_posts(warehouse, config.complete_days), config.level, config.min_clients)])
    warehouse.write("analytics.usage_feature_effects", effects, "replace")
    return _result("usage_feature_effects", effects,
                   effects=png_markdown(plots.feature_effects(effects), "feature effects"))


class AutomationConfig(dg.Config):
    hourly_rate: float = Field(default=50.0, gt=0, description="Value of an hour of a client's "
                               "social-media work (USD) that prices the hours saved.")


@dg.asset(key=["analytics", "automation_savings"], group_name=DOMAIN.name, owners=DOMAIN.owners,
          kinds=KINDS, deps=[_mart("fct_feature_time_saved_daily")])
def automation_savings(config: AutomationConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per client x feature x platform: uses, hours of manual work saved (the platform's
    per-use estimate) and their value at the configured hourly rate."""
    df = us.automation_savings(
        warehouse.read("select client_id, feature_name, platform, uses, time_saved_minutes "
                       "from marts.fct_feature_time_saved_daily"), config.hourly_rate)
    warehouse.write("analytics.automation_savings", df, "replace")
    by_feature = df.group_by("feature_name").agg(pl.col("hours_saved", "value_saved").sum()).sort(
        "hours_saved", descending=True)
    return _result("automation_savings", df, by_feature=dg.MetadataValue.md(markdown_table(by_feature, 1)),
                   **plot_entry(by_feature, lambda d: bars(
                       d["feature_name"].to_list(), d["hours_saved"], "Hours saved per feature (all clients)",
                       "hours"), "hours saved", "no feature was used"))


def posting_inputs(warehouse: Warehouse, complete_days: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(complete posts, client x platform x week rows of the weeks whose posts are all complete)."""
    weeks = data_weeks(warehouse)
    published = warehouse.read("select client_id, platform, published_at, engagements "
                               "from marts.fct_content_performance where is_published")
    last_day = warehouse.read("select max(last_observed_date) as d from marts.fct_content_performance")["d"][0]
    # a week counts once every post published in it has had its whole engagement window
    done = weeks.filter(weeks + dt.timedelta(days=6 + complete_days) <= last_day) if last_day else weeks
    return complete_posts(warehouse, complete_days), us.posting_weeks(published, done)


class PostingConfig(dg.Config):
    min_posts: int = Field(default=20, ge=2, description="Complete posts a client x platform x type "
                           "needs before any hour or day is recommended.")
    prior_posts: float = Field(default=10.0, ge=0, description="Pseudo-posts of the platform-wide "
                               "profile in a client's hour and day effects (partial pooling).")
    max_hours: int = Field(default=3, ge=1, le=3, description="Peak hours recommended at most.")
    max_days: int = Field(default=3, ge=1, le=7, description="Best days recommended at most.")
    min_slot_posts: int = Field(default=3, ge=1, description="The client's own complete posts in an "
                                "hour (or weekday) before it can be recommended.")
    min_weeks: int = Field(default=8, ge=2, description="Own weeks on the platform a client needs "
                           "for a frequency recommendation.")
    min_clients: int = Field(default=10, ge=2, description="Clients the frequency curve needs.")
    complete_days: int = Field(default=14, ge=1, description="Days of engagement a post needs.")
    level: float = Field(default=0.95, gt=0, lt=1, description="Level of the intervals.")


@dg.multi_asset(
    specs=[
        _spec("posting_recommendations", "Per client x platform x content type: up to three peak "
              "hours (UTC), the best days and the recommended posts per week, each with its "
              "status, interval and evidence; nothing below the minimum-data rule.",
              [_mart("fct_content_performance")]),
        _spec("posting_peak_hours", "Per client x platform x content type x rank: a recommended hour "
              "with its shrunk lift in engagements per post, interval and the client's own "
              "engagement rate in that hour.", [_mart("fct_content_performance")]),
        _spec("posting_hour_profiles", "Per platform x content type x hour (all clients, within "
              "client): lift in engagements per post with its interval, engagement rate.",
              [_mart("fct_content_performance")]),
        _spec("posting_day_profiles", "Per platform x content type x weekday (1 = Monday): the same.",
              [_mart("fct_content_performance")]),
        _spec("posting_frequency_curves", "Per platform: the quadratic fit of weekly engagements on "
              "posts per week (client fixed effects) and the engagement-maximizing frequency.",
              [_mart("fct_content_performance"), _mart("fct_platform_usage_daily")]),
    ],
    can_subset=False,
)
def posting(context: dg.AssetExecutionContext, config: PostingConfig, warehouse: Warehouse):
    """Posting recommendations: peak hours, best days, frequency."""
    posts, weeks = posting_inputs(warehouse, config.complete_days)
    settings = us.PostingSettings(
        hours=us.SlotSettings("publish_hour", config.max_hours, config.min_posts, config.prior_posts,
                              config.level, config.min_slot_posts),
        days=us.SlotSettings("publish_weekday", config.max_days, config.min_posts, config.prior_posts,
                             config.level, config.min_slot_posts),
        frequency=us.FrequencySettings(config.min_weeks, config.min_clients, config.level))
    result = us.posting_recommendations(posts, weeks, settings)
    tables = {"posting_recommendations": result.recommendations, "posting_peak_hours": result.peak_hours,
              "posting_hour_profiles": result.hour_profiles, "posting_day_profiles": result.day_profiles,
              "posting_frequency_curves": result.frequency_curves}
    with warehouse.session() as s:
        for name, df in tables.items():
            s.write(f"analytics.{name}", df, "replace")
    context.log.info(f"posting: {posts.height} complete posts, {result.peak_hours.height} peak hours recommended")
    extra = {"posting_hour_profiles": {"hour_profiles": png_markdown(plots.hour_profiles(result.hour_profiles),
                                                                     "hour profiles")},
             "posting_day_profiles": plot_entry(result.day_profiles, _day_chart, "day profiles",
                                                "no platform x type has enough posts"),
             "posting_frequency_curves": plot_entry(result.frequency_curves, lambda d: bars(
                 d["platform"].to_list(), d["optimal_posts_per_week"],
                 "Optimal posts per week per platform", "posts per week, whiskers the interval",
                 d["optimal_low"], d["optimal_high"]), "optimal frequency", "no platform has enough weeks"),
             "posting_peak_hours": plot_entry(result.peak_hours, lambda d: bars(
                 [f"{c} {p} {t} {h}h" for c, p, t, h in d.select("client_id", "platform", "content_type",
                                                                 "hour").iter_rows()],
                 d["lift"], "Recommended peak hours (first 25)", "engagement lift, whiskers the interval",
                 d["lift_low"], d["lift_high"]), "peak hours",
                 "no client x platform x type has a peak hour clearly above the others"),
             "posting_recommendations": plot_entry(result.recommendations, lambda d: rows_by(
                 d, "hours_status", "Posting recommendations by hours status"), "recommendations",
                 "no client posts")}
    for name, df in tables.items():
        yield _result(name, df, **extra.get(name, {}))


usage_assets = [usage_platforms, usage_adoption, usage_feature_effects, automation_savings, posting]


def _adoption_chart(tiers: pl.DataFrame):
    """Adoption rate per tier x feature (the 25 highest), whiskers the interval."""
    d = tiers.sort("adoption_rate", descending=True, nulls_last=True)
    return bars([f"{t} {f}" for t, f in d.select("tier", "feature_name").iter_rows()],
                d["adoption_rate"], "Feature adoption per tier (highest 25)",
                "share of active clients adopting, whiskers the interval",
                d["adoption_low"], d["adoption_high"])


def _day_chart(days: pl.DataFrame):
    """Engagement lift per weekday, averaged over platform x content type (posts-weighted)."""
    per = days.filter(pl.col("lift").is_not_null()).group_by("weekday").agg(
        ((pl.col("lift") * pl.col("posts")).sum() / pl.col("posts").sum()).alias("lift")).sort("weekday")
    return bars(per["weekday"].to_list(), per["lift"], "Engagement lift per weekday",
                "lift, posts-weighted over platform x content type")
