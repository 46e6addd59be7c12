"""Customers assets: read the marts, call dagster_project.analytics.customers, write analytics.*.

RFM is computed in the warehouse (the SQL of analytics.customers.rfm, run through the
Warehouse resource); clusters, lifetime value, churn risk and health in Python.
"""

import dagster as dg
import polars as pl
from pydantic import Field

from dagster_project.analytics import customers as cu
from dagster_project.defs.customers import plots
from dagster_project.domains import domain
from dagster_project.metadata import markdown_table, png_markdown, table_metadata
from dagster_project.plots import bars, histogram_or_statuses, plot_entry, rows_by
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

DOMAIN = domain("customers")
KINDS = {"python", "polars", get_settings().warehouse_backend}
END_CUSTOMERS = dg.AssetKey(["marts", "dim_end_customers"])
SNAPSHOTS = dg.AssetKey(["marts", "fct_client_monthly_snapshots"])
RFM = dg.AssetKey(["analytics", "customer_rfm"])
CHURN = dg.AssetKey(["analytics", "client_churn_risk"])
STATUS = {"status": cu.status_description(), "status_message": "the status's reason, in words"}


def _spec(name: str, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(["analytics", name], deps=deps, description=description,
                        group_name=DOMAIN.name, owners=DOMAIN.owners, kinds=KINDS)


def _statuses(df: pl.DataFrame) -> dg.MetadataValue:
    counts = df.group_by("status").len().sort("status")
    return dg.MetadataValue.md(markdown_table(counts.join(cu.status_table(), on="status",
                                                          how="left")))


class RfmConfig(dg.Config):
    score_bins: int = Field(default=5, ge=2, description="Score bins per client (5 = quintiles).")
    monetary_measure: str = Field(default="average_order_value",
                                  description="average_order_value or total_revenue.")
    segment_rules_path: str | None = Field(
        default=None, description="A YAML rule table replacing the packaged "
        "analytics/customers/rfm_segments.yml (same format).")


RFM_COLUMNS = {
    "recency_days": "days from the last order with revenue > 0 to the as-of date",
    "frequency_orders": "orders with revenue > 0",
    "monetary_value": "average order value (or total revenue, per monetary_measure)",
    "r_score": "1..bins: 1 + floor(bins x share of the client's customers with a longer recency)",
    "f_score": "1..bins, the same over orders (ties share a score)",
    "m_score": "1..bins, the same over monetary_value",
    "segment": "first rule of the segment rule table that holds",
    "nonpositive_orders": "orders with revenue <= 0 (not purchases)",
    **STATUS,
}


@dg.asset(key=["analytics", "customer_rfm"], group_name=DOMAIN.name, owners=DOMAIN.owners,
          kinds=KINDS | {"sql"}, deps=[END_CUSTOMERS])
def customer_rfm(config: RfmConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per client x end-customer: recency, frequency and monetary value, their scores within
    the client (1 + floor(bins x share of the client's customers it beats): ties share a
    score, any row order gives the same) and the named segment from the rule table (champions,
    loyal, new, potential loyalists, can't lose, at risk, hibernating, lost). Computed in the
    warehouse. Customers whose orders all have revenue <= 0 get status no_valid_orders, a
    client's only customer single_customer; their scores are null."""
    rules = cu.segment_rules(config.segment_rules_path)
    df = warehouse.read(cu.rfm_sql(config.score_bins, rules, config.monetary_measure)).sort(
        "client_id", "customer_id")
    warehouse.write("analytics.customer_rfm", df)
    return dg.MaterializeResult(metadata={
        **table_metadata(df, RFM_COLUMNS),
        "segment_sizes": png_markdown(plots.segment_sizes(df), "RFM segment sizes"),
        "rules": dg.MetadataValue.md(markdown_table(cu.rules_table(rules))),
        "statuses": _statuses(df),
        "nonpositive_order_rows": int(df["nonpositive_orders"].sum() or 0)})


class ClusterConfig(dg.Config):
    k_min: int = Field(default=2, ge=2, description="Smallest k tried.")
    k_max: int = Field(default=8, ge=2, description="Largest k tried (chosen by silhouette).")
    n_init: int = Field(default=4, ge=1, description="k-means restarts per k.")
    silhouette_sample: int = Field(default=5000, description="Customers sampled for the silhouette.")
    bootstrap_refits: int = Field(default=10, ge=0, description="Refits for the adjusted Rand index.")
    seed: int = Field(default=0, description="Seed of k-means, the sample and the bootstrap.")


@dg.multi_asset(specs=[
    _spec("customer_clusters", "Per client x end-customer: its k-means cluster (standardized "
          "log-RFM, channels, social share, order gap), the named RFM segment nearest to the "
          "cluster's centroid and the customer's distance to it.", [END_CUSTOMERS, RFM]),
    _spec("customer_cluster_profiles", "Per cluster: customers, mapped segment, and the "
          "centroid (standardized and in the features' units).", [END_CUSTOMERS, RFM]),
], can_subset=False)
def customer_clusters(config: ClusterConfig, warehouse: Warehouse):
    """k-means clusters of end-customers, k by silhouette, stability by bootstrap ARI."""
    res = cu.cluster_customers(
        warehouse.read("select * from marts.dim_end_customers"),
        warehouse.read("select client_id, customer_id, segment from analytics.customer_rfm"),
        cu.ClusterSettings(config.k_min, config.k_max, config.n_init, config.silhouette_sample,
                           config.bootstrap_refits, config.seed))
    with warehouse.session() as s:
        s.write("analytics.customer_clusters", res.customers)
        s.write("analytics.customer_cluster_profiles", res.profiles)
    yield dg.MaterializeResult(asset_key=["analytics", "customer_clusters"], metadata={
        **table_metadata(res.customers, STATUS), "k": res.k if res.k is not None else "none",
        "silhouette_by_k": dg.MetadataValue.md(markdown_table(res.silhouettes)),
        "bootstrap_ari_mean": res.ari_mean, "bootstrap_ari_min": res.ari_min,
        "status": res.status, "status_message": res.status_message,
        **plot_entry(res.customers, lambda d: rows_by(
            d.with_columns(pl.col("cluster").cast(pl.String)), "cluster",
            "End-customers per k-means cluster"), "cluster sizes", res.status_message)})
    yield dg.MaterializeResult(asset_key=["analytics", "customer_cluster_profiles"], metadata={
        **table_metadata(res.profiles),
        **plot_entry(res.profiles, lambda d: bars(
            [f"{c}: {s}" for c, s in d.select("cluster", "segment").iter_rows()], d["customers"],
            "Customers per cluster (nearest RFM segment)", "end-customers"), "cluster profiles",
            res.status_message),
        "centroids": dg.MetadataValue.md(markdown_table(res.profiles, 3))})


class ClvConfig(dg.Config):
    months: int = Field(default=12, ge=1, description="CLV horizon in months.")
    monthly_discount: float = Field(default=0.01, description="Monthly discount rate.")
    horizon_days: int = Field(default=90, ge=1, description="Horizon of expected_purchases.")
    min_customers: int = Field(default=50, description="Customers a client needs for its own "
                               "(shrunk) fit; below: the pooled parameters.")
    shrinkage_customers: float = Field(default=200.0, description="Strength of the pooled "
                                       "prior, in pooled customers.")
    bootstrap_draws: int = Field(default=100, ge=0, description="Parametric-bootstrap draws "
                                 "for the segment intervals (0 = none).")
    interval_level: float = Field(default=0.9, description="Level of the segment intervals.")
    seed: int = Field(default=0, description="Seed of the bootstrap draws.")


CLV_COLUMNS = {
    "parameter_source": "client (own fit shrunk towards the pooled one) or pooled",
    "p_alive": "BG/NBD P(alive at the as-of date)",
    "expected_purchases": "BG/NBD expected purchases in the next horizon_days",
    "expected_spend": "Gamma-Gamma expected spend per purchase (population mean without a "
                      "repeat purchase)",
    "clv": "expected_spend x discounted expected purchases over `months` months (USD)",
    **STATUS,
}


@dg.multi_asset(specs=[
    _spec("customer_clv", "Per client x end-customer: BG/NBD P(alive) and expected purchases "
          "in the next 90 days, Gamma-Gamma expected spend, discounted 12-month CLV.",
          [END_CUSTOMERS, RFM]),
    _spec("customer_clv_segments", "Per client x RFM segment: customers, mean and total CLV "
          "with parametric-bootstrap intervals over the fitted parameters.",
          [END_CUSTOMERS, RFM]),
    _spec("customer_clv_fits", "Per client: the BG/NBD and Gamma-Gamma parameters used "
          "(own shrunk fit or pooled) and why.", [END_CUSTOMERS, RFM]),
], can_subset=False)
def customer_clv(config: ClvConfig, warehouse: Warehouse):
    """BG/NBD + Gamma-Gamma by maximum likelihood, pooled and per client with shrinkage."""
    res = cu.lifetime_value(
        warehouse.read("select * from marts.dim_end_customers"),
        warehouse.read("select client_id, customer_id, segment from analytics.customer_rfm"),
        cu.ClvSettings(config.months, config.monthly_discount, config.horizon_days,
                       config.min_customers, config.shrinkage_customers, config.bootstrap_draws,
                       config.interval_level, config.seed))
    with warehouse.session() as s:
        s.write("analytics.customer_clv", res.customers)
        s.write("analytics.customer_clv_segments", res.segments)
        s.write("analytics.customer_clv_fits", res.fits)
    pooled = res.fits.filter(pl.col("parameter_source") == "pooled").head(1)
    yield dg.MaterializeResult(asset_key=["analytics", "customer_clv"], metadata={
        **table_metadata(res.customers, CLV_COLUMNS), "statuses": _statuses(res.customers),
        "pooled_status": res.pooled_status, "pooled_status_message": res.pooled_message,
        "pooled_parameters": dg.MetadataValue.md(markdown_table(pooled.select(
            pl.col("^bgnbd_.*$", "^gg_.*$")), 6)),
        **plot_entry(res.customers, lambda d: histogram_or_statuses(
            d, "clv", "12-month CLV per end-customer", "CLV (USD)"), "CLV histogram")})
    segment_meta = {**table_metadata(res.segments, STATUS)}
    if res.segments.height:
        segment_meta["clv_by_segment"] = png_markdown(plots.clv_by_segment(res.segments),
                                                      "CLV by segment")
    else:
        segment_meta.update(plot_entry(res.segments, None, "CLV by segment",
                                       f"no CLV was fitted ({res.pooled_status}: "
                                       f"{res.pooled_message})"))
    yield dg.MaterializeResult(asset_key=["analytics", "customer_clv_segments"],
                               metadata=segment_meta)
    yield dg.MaterializeResult(asset_key=["analytics", "customer_clv_fits"], metadata={
        **table_metadata(res.fits, STATUS),
        "parameter_sources": dg.MetadataValue.md(markdown_table(
            res.fits.group_by("parameter_source", "parameter_reason").len().sort("len"))),
        **plot_entry(res.fits, lambda d: rows_by(d, "parameter_source",
                                                  "Clients per CLV parameter source"),
                     "parameter sources")})


class ChurnConfig(dg.Config):
    n_estimators: int = Field(default=300, ge=1, description="LightGBM boosting rounds.")
    learning_rate: float = Field(default=0.03, description="LightGBM learning rate.")
    num_leaves: int = Field(default=7, ge=2, description="LightGBM leaves per tree.")
    min_child_samples: int = Field(default=40, ge=1, description="LightGBM rows per leaf.")
    calibration: str = Field(default="platt", description="platt or isotonic (fitted on the "
                             "calibration month).")
    seed: int = Field(default=0, description="LightGBM seed.")


CHURN_COLUMNS = {
    "churn_risk": "calibrated P(cancel within 30 days after snapshot_date), LightGBM",
    "baseline_risk": "the same from the logistic-regression baseline",
    "split": "train, calibration, test (held out) or unlabelled (the last 30 days not over)",
    "driver_1": "feature with the largest |contribution| to this row's LightGBM log-odds "
                "(pred_contrib), in words, with its direction",
    **STATUS,
}


@dg.asset(key=["analytics", "client_churn_risk"], group_name=DOMAIN.name, owners=DOMAIN.owners,
          kinds=KINDS | {"lightgbm"}, deps=[SNAPSHOTS])
def client_churn_risk(config: ChurnConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per client x snapshot (month ends and the as-of date): the calibrated chance of
    cancelling within 30 days from LightGBM on usage, engagement, billing and tier history
    (time-based split: train on the early months, calibrate on the next, hold out the last
    labelled month), the logistic-regression baseline's, and the top three drivers of each
    prediction from LightGBM's own contributions. The metadata holds both models' held-out
    AUC, Brier score and calibration error and the calibration curve."""
    res = cu.churn_risk(warehouse.read("select * from marts.fct_client_monthly_snapshots"),
                        cu.ChurnSettings(config.n_estimators, config.learning_rate,
                                         config.num_leaves, config.min_child_samples,
                                         calibration=config.calibration, seed=config.seed))
    warehouse.write("analytics.client_churn_risk", res.scores)
    meta = {**table_metadata(res.scores, CHURN_COLUMNS), "status": res.status,
            "status_message": res.status_message,
            "held_out_metrics": dg.MetadataValue.md(markdown_table(res.metrics)),
            "periods": dg.MetadataValue.json({k: [str(d) for d in v]
                                              for k, v in res.periods.items()}),
            "driver_importance": dg.MetadataValue.md(markdown_table(res.importance))}
    if res.status == "ok":
        meta["calibration_curve"] = png_markdown(plots.calibration(res.calibration_curve),
                                                 "calibration")
        for row in res.metrics.iter_rows(named=True):  # two models
            for m in ("auc", "brier", "ece"):
                meta[f"{row['model']}_{m}"] = row[m]
    else:  # no model: what there is, is the rows' status
        meta.update(plot_entry(res.scores, lambda d: rows_by(d, "status", "Churn-risk rows by status"),
                               "rows by status", res.status_message))
    return dg.MaterializeResult(metadata=meta)


class HealthConfig(dg.Config):
    health_rules_path: str | None = Field(
        default=None, description="A YAML rule table replacing the packaged "
        "analytics/customers/health_segments.yml (same format).")


@dg.multi_asset(specs=[
    _spec("client_health", "Per client x snapshot: churn risk, MRR percentile, usage trend, "
          "tier headroom and the health segment (champions, at risk, growth potential, "
          "hibernating) from the documented rule table.", [SNAPSHOTS, CHURN]),
    _spec("segment_transitions", "Clients moving between health segments from one snapshot "
          "to the next (new and churned included), with the share of the from-segment.",
          [SNAPSHOTS, CHURN]),
], can_subset=False)
def client_health(config: HealthConfig, warehouse: Warehouse):
    """Client health segments per month and their month-over-month flows."""
    rules = cu.health_rules(config.health_rules_path)
    health = cu.client_health(
        warehouse.read("select * from marts.fct_client_monthly_snapshots"),
        warehouse.read("select * from analytics.client_churn_risk"), rules)
    flows = cu.segment_transitions(health)
    with warehouse.session() as s:
        s.write("analytics.client_health", health)
        s.write("analytics.segment_transitions", flows)
    yield dg.MaterializeResult(asset_key=["analytics", "client_health"], metadata={
        **table_metadata(health, STATUS), "statuses": _statuses(health),
        "rules": dg.MetadataValue.md(markdown_table(cu.rules_table(rules))),
        **plot_entry(health, lambda d: rows_by(
            d.filter(pl.col("snapshot_date") == pl.col("snapshot_date").max()).with_columns(
                pl.coalesce("health_segment", "status").alias("segment_or_status")),
            "segment_or_status",
            "Clients per health segment (status where none) at the latest snapshot"),
            "health segments")})
    flow_meta = {**table_metadata(flows)}
    if flows.height:
        flow_meta["flows"] = png_markdown(plots.transition_flows(flows), "transitions")
    else:
        flow_meta.update(plot_entry(flows, None, "transitions",
                                    "fewer than two snapshots with health segments, so no flows"))
    yield dg.MaterializeResult(asset_key=["analytics", "segment_transitions"], metadata=flow_meta)


customer_assets = [customer_rfm, customer_clusters, customer_clv, client_churn_risk,
                   client_health]
