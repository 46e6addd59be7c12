"""Pricing assets: read the pricing marts (and the churn-risk scores), call
dagster_project.analytics.pricing, write analytics.*."""

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.analytics import pricing as pr
from dagster_project.analytics.pricing.simulate import CANDIDATE_STEPS
from dagster_project.defs.pricing import plots
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, png_markdown, table_metadata
from dagster_project.plots import bars, plot_entry
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("pricing")
KINDS = {"python", "polars", get_settings().warehouse_backend}
OFFERS = dg.AssetKey(["marts", "fct_price_offers_weekly"])
COMPETITORS = dg.AssetKey(["marts", "fct_competitor_prices_weekly"])
PRICE_HISTORY = dg.AssetKey(["marts", "fct_price_history"])
AS_OF = dg.AssetKey(["intermediate", "int_as_of_date"])
CHURN = dg.AssetKey(["analytics", "client_churn_risk"])
SNAPSHOTS = dg.AssetKey(["marts", "fct_client_monthly_snapshots"])
ELASTICITY = dg.AssetKey(["analytics", "price_elasticity"])
FORECAST = dg.AssetKey(["analytics", "price_demand_forecast"])
POSITION = dg.AssetKey(["analytics", "competitive_position"])
RECOMMENDATIONS = dg.AssetKey(["analytics", "price_recommendations"])
STATUS = {"status": pr.status_description(), "status_message": "the status's reason, in words"}


def _spec(name: str, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(["analytics", name], deps=deps, description=description,
                        group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS)


def _statuses(df: pl.DataFrame) -> dg.MetadataValue:
    counts = df.group_by("status").len().sort("status")
    return dg.MetadataValue.md(markdown_table(counts.join(pr.status_table(), on="status",
                                                          how="left")))


def read_offers(warehouse: Warehouse) -> pl.DataFrame:
    return warehouse.read("select * from marts.fct_price_offers_weekly")


class ElasticityConfig(dg.Config):
    fourier_order: int = Field(default=2, ge=0, description="Yearly Fourier terms (pairs of "
                               "sin, cos) controlling for seasonality.")
    seasonality: bool = Field(default=True, description="Control for seasonality at all "
                              "(false shows the bias of leaving it out).")
    trend: bool = Field(default=True, description="Control for a linear trend.")
    marketing: bool = Field(default=True, description="Control for log weekly marketing spend.")
    min_weeks: int = Field(default=8, ge=2, description="Weeks with the list offer a tier needs "
                           "for an observational estimate.")
    level: float = Field(default=0.95, gt=0, lt=1, description="Interval level.")
    hc_type: str = Field(default="HC3", description="Robust standard errors: HC0, HC1 or HC3.")
    dml_folds: int = Field(default=5, ge=2, description="Cross-fitting folds of the DML check.")
    dml_trees: int = Field(default=100, ge=1, description="Trees of each DML random forest.")
    seed: int = Field(default=0, description="Seed of the DML folds and forests.")


ELASTICITY_COLUMNS = {
    "method": "observational (list-price cells, pooled Poisson regression with Fourier, trend "
              "and marketing controls), experiment (price-experiment arms, within-week "
              "comparison), combined (precision-weighted), dml (double machine learning check)",
    "estimate": "elasticity of weekly sign-ups to the shown price (d log demand / d log price)",
    "std_error": "robust standard error (hc_type)",
    "classification": "elastic (interval below -1), inelastic (above -1), undetermined",
    "weight_in_combined": "the method's precision weight in the combined estimate",
    **STATUS,
}


@dg.asset(key=ELASTICITY.path, group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS,
          deps=[OFFERS])
def price_elasticity(config: ElasticityConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per tier and method: the price elasticity of sign-ups with its 95% interval (robust HC3
    errors) and its class. Observational: Poisson log-log regression of weekly sign-ups on the
    list price, controlling for yearly seasonality (Fourier terms), trend and marketing.
    Experiment: the price experiments' arms compared within the weeks they ran. Combined: the
    precision-weighted mean of the two. DML: a cross-fitted double machine learning estimate
    (random forests) as a robustness check. A tier with too few weeks or one shown price gets
    a status, not a number."""
    cells = read_offers(warehouse)
    settings = pr.ElasticitySettings(config.fourier_order, config.seasonality, config.trend,
                                     config.marketing, config.min_weeks, config.level,
                                     config.hc_type)
    res = pr.estimate_elasticities(cells, settings)
    dml = pr.dml_elasticities(cells, pr.DmlSettings(
        n_folds=config.dml_folds, n_estimators=config.dml_trees,
        fourier_order=config.fourier_order, level=config.level, seed=config.seed))
    df = pl.concat([res.table, dml]).sort("tier", pl.col("method").replace_strict(
        {m: i for i, m in enumerate(pr.elasticity.METHODS)}, return_dtype=pl.Int64))
    warehouse.write("analytics.price_elasticity", df)
    unmatched = cells.filter(pl.col("exposure") <= 0)["signups"].sum()
    return dg.MaterializeResult(metadata={
        **table_metadata(df, ELASTICITY_COLUMNS),
        "intervals": png_markdown(plots.elasticity_intervals(df), "elasticity intervals"),
        "observational_terms": dg.MetadataValue.md(markdown_table(res.coefficients)),
        "controls": ", ".join(settings.controls) or "none",
        "hc_type": settings.hc_type, "statuses": _statuses(df),
        "signups_without_offer": int(unmatched or 0)})


class DemandConfig(dg.Config):
    holdout_weeks: int = Field(default=8, ge=1, description="Last weeks held out to score the "
                               "model against the seasonal-naive baseline.")
    horizon_weeks: int = Field(default=12, ge=1, description="Weeks forecast (the horizon of "
                               "the simulations and recommendations).")
    n_estimators: int = Field(default=100, ge=1, description="LightGBM boosting rounds.")
    learning_rate: float = Field(default=0.05, gt=0, description="LightGBM learning rate.")
    num_leaves: int = Field(default=7, ge=2, description="LightGBM leaves per tree.")
    min_child_samples: int = Field(default=5, ge=1, description="LightGBM rows per leaf.")
    seed: int = Field(default=0, description="LightGBM seed.")


@dg.multi_asset(specs=[
    _spec("price_demand_model", "Held-out error of the LightGBM weekly demand model per tier "
          "(and over all tiers) against the seasonal-naive baseline.", [OFFERS]),
    _spec("price_demand_forecast", "Per tier and coming week: expected sign-ups at the current "
          "list price (LightGBM refitted on every week).", [OFFERS]),
], can_subset=False)
def price_demand(config: DemandConfig, warehouse: Warehouse):
    """LightGBM (Poisson, price monotone decreasing) of weekly sign-ups per tier from price,
    seasonality, trend and marketing; held-out mean absolute error beside the seasonal-naive
    baseline's (naive when there is less than a year of history); the forecast at the current
    list price."""
    res = pr.demand_model(read_offers(warehouse), config.horizon_weeks, pr.DemandSettings(
        holdout_weeks=config.holdout_weeks, n_estimators=config.n_estimators,
        learning_rate=config.learning_rate, num_leaves=config.num_leaves,
        min_child_samples=config.min_child_samples, seed=config.seed))
    with warehouse.session() as s:
        s.write("analytics.price_demand_model", res.evaluation)
        s.write("analytics.price_demand_forecast", res.forecast)
    overall = res.evaluation.filter(pl.col("tier") == "all").row(0, named=True)
    yield dg.MaterializeResult(asset_key=["analytics", "price_demand_model"], metadata={
        **table_metadata(res.evaluation, STATUS),
        "baseline": res.baseline,
        "model_mae": overall["model_mae"], "baseline_mae": overall["baseline_mae"],
        "holdout": png_markdown(plots.holdout_forecasts(res.holdout), "held-out weeks"),
        "feature_gain": dg.MetadataValue.md(markdown_table(res.importance))})
    yield dg.MaterializeResult(asset_key=FORECAST.path, metadata={
        **table_metadata(res.forecast), **plot_entry(res.forecast, _signups_chart,
                                                     "expected signups", "no tier has a model")})


class GuardrailsConfig(dg.Config):
    guardrails_path: str | None = Field(default=None, description="A YAML file replacing the "
                                        "packaged analytics/pricing/guardrails.yml (same keys).")


def current_prices(warehouse: Warehouse) -> pl.DataFrame:
    return warehouse.read("select tier, monthly_price as list_price from marts.fct_price_history "
                          "where is_current order by tier")


@dg.asset(key=POSITION.path, group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS,
          deps=[COMPETITORS, PRICE_HISTORY, ELASTICITY])
def competitive_position(config: GuardrailsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per tier: our list price against the median latest price of the comparable competitor
    plans (price index), the position that index falls in, and the recommended position
    (value_leader, competitive_parity, premium_provider) by the guardrails' rule on the tier's
    elasticity class, with its target index band."""
    guardrails = pr.load_guardrails(config.guardrails_path)
    classes = warehouse.read("select tier, classification from analytics.price_elasticity "
                             "where method = 'combined'")
    df = pr.competitive_position(current_prices(warehouse), warehouse.read(
        "select * from marts.fct_competitor_prices_weekly"), classes, guardrails)
    warehouse.write("analytics.competitive_position", df)
    return dg.MaterializeResult(metadata={
        **table_metadata(df, STATUS),
        "positions": dg.MetadataValue.md(markdown_table(guardrails.table())),
        **plot_entry(df, lambda d: bars(
            d["tier"].to_list(), d["price_index"], "Price index per tier",
            "list price / competitor median, whiskers the target band",
            d["target_index_low"], d["target_index_high"]), "price index", "no tier is priced")})


def _signups_chart(forecast: pl.DataFrame):
    """Expected signups per tier over the forecast weeks."""
    per = forecast.group_by("tier").agg(pl.col("expected_signups").sum()).sort("tier")
    return bars(per["tier"].to_list(), per["expected_signups"],
                f"Expected signups over the next {forecast['week_start'].n_unique()} weeks",
                "signups at the current price")


class RecommendationConfig(GuardrailsConfig):
    candidate_steps: list[float] = Field(default=list(CANDIDATE_STEPS), description="Relative "
                                         "list price changes simulated per tier (0.1 = +10%).")


RECOMMENDATION_COLUMNS = {
    "action": "increase, hold or value_optimization (keep the price; packaging, annual discount)",
    "suggested_price": "the suggested list price inside the guardrails (USD per month)",
    "price_floor": "the tier's floor in the guardrails file used (USD per month)",
    "expected_revenue_change": "change in the new MRR the horizon's sign-ups add (USD per month)",
    "revenue_change_ci_lower": "its 95% bound from the elasticity's interval",
    "churn_risk_change": "the churn model's extra 30-day churn risk of a new subscriber",
    "confidence": "in [0, 1]: see confidence_meaning",
    "risk_level": "low, medium or high (guardrails' risk rules)",
    "reasoning": "the suggestion in words; every number comes from this row",
    **STATUS,
}


def read_churn_scores(warehouse: Warehouse) -> pl.DataFrame:
    with warehouse.session() as s:
        if not s.table_exists("analytics.client_churn_risk"):
            return pl.DataFrame(schema={"client_id": pl.String, "snapshot_date": pl.Date,
                                        "tier": pl.String, "churn_risk": pl.Float64,
                                        "status": pl.String, "signup_price_vs_launch": pl.Float64,
                                        "days_since_signup": pl.Int64})
        return s.read("""
            select r.client_id, r.snapshot_date, s.tier, r.churn_risk, r.status,
                s.signup_price_vs_launch, s.days_since_signup
            from analytics.client_churn_risk as r
            inner join marts.fct_client_monthly_snapshots as s
                on r.client_id = s.client_id and r.snapshot_date = s.snapshot_date""")


@dg.multi_asset(specs=[
    _spec("price_simulations", "Per tier and candidate list price: expected sign-ups, new MRR "
          "and its change, and the churn model's extra churn, with intervals.",
          [ELASTICITY, FORECAST, CHURN, SNAPSHOTS]),
    _spec("price_recommendations", "Per tier: the suggested list price inside the guardrails "
          "(or a hold, or value optimization), its expected revenue change and extra churn with "
          "intervals, a confidence score, a risk level and the reasoning.",
          [ELASTICITY, FORECAST, POSITION, CHURN, SNAPSHOTS, AS_OF]),
], can_subset=False)
def price_recommendations(config: RecommendationConfig, warehouse: Warehouse):
    """Candidate prices simulated from the demand forecast, the elasticity and the churn
    model's price effect; one recommendation per tier by the guardrails' rules. Nothing
    changes a price: a sensor turns price-changing recommendations into pending proposals for
    an admin to approve (review_pricing_proposal)."""
    guardrails = pr.load_guardrails(config.guardrails_path)
    churn = pr.churn_price_effect(read_churn_scores(warehouse))
    base = pr.tier_base(warehouse.read("select * from analytics.price_demand_forecast"),
                        warehouse.read("select * from analytics.price_elasticity"), churn.frame())
    position = warehouse.read("select * from analytics.competitive_position")
    as_of = warehouse.scalar("select as_of_date from intermediate.int_as_of_date")
    sims = pr.simulate_prices(base, tuple(config.candidate_steps))
    recs = pr.recommend(base, position, guardrails, as_of)
    with warehouse.session() as s:
        s.write("analytics.price_simulations", sims)
        s.write("analytics.price_recommendations", recs)
    yield dg.MaterializeResult(asset_key=["analytics", "price_simulations"], metadata={
        **table_metadata(sims, STATUS),
        "revenue_curves": png_markdown(plots.revenue_curves(sims), "revenue at candidate prices")})
    yield dg.MaterializeResult(asset_key=RECOMMENDATIONS.path, metadata={
        **table_metadata(recs, RECOMMENDATION_COLUMNS),
        **plot_entry(recs, lambda d: bars(
            [f"{t}: {a}" for t, a in d.select("tier", "action").iter_rows()],
            d["expected_revenue_change"], "Expected revenue change of the recommendations",
            "USD over the horizon, whiskers the CI",
            d["revenue_change_ci_lower"], d["revenue_change_ci_upper"]), "revenue change",
            "no tier has a recommendation"),
        "actions": dg.MetadataValue.md(markdown_table(recs.select(
            "tier", "action", "current_price", "suggested_price", "confidence", "risk_level"))),
        "reasoning": dg.MetadataValue.md("\n\n".join(
            f"**{t}**: {r}" for t, r in recs.select("tier", "reasoning").iter_rows())),
        "churn_price_slope": churn.slope if churn.slope is not None else "none",
        "churn_effect_status": f"{churn.status}: {churn.status_message}",
        "guardrails": dg.MetadataValue.md(markdown_table(guardrails.table())),
        "statuses": _statuses(recs)})


pricing_assets = [price_elasticity, price_demand, competitive_position, price_recommendations]
