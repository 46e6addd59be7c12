"""End-customer clusters: k-means on standardized log-RFM and behavioural features.

Features per customer (``marts.dim_end_customers`` joined to its RFM row): ln(1 + recency
days), ln(frequency), ln(average order value), ln(1 + channels touched), the share of touches
on social platforms (0 without a touch) and ln(1 + order gap days), the gap being the mean days
between orders, or for a one-order customer the days since that order (a lower bound on its
first gap). Each is standardized over all customers (clients pooled: a client has too few
customers for clusters of its own; the rows keep their client).

k is chosen in ``k_range`` by the silhouette score (scikit-learn, on a seeded sample of at
most ``silhouette_sample`` customers), each k fitted by scikit-learn's ``KMeans``
(``n_init`` seeded restarts). Each cluster is described by its centroid (standardized and in
the features' own units) and mapped to the named RFM segment whose centroid, in the same
standardized space, is nearest (Euclidean). Stability: ``bootstrap_refits`` refits on
bootstrap resamples of the customers; each refit labels every customer, and the adjusted Rand
index between its labels and the main fit's is reported (mean and minimum).

Statuses: ``too_few_customers`` (fewer customers than twice the largest k, or no spread in
some feature set: no clusters), else ``ok``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

FEATURES = {
    "log_recency": "ln(1 + days since the last order)",
    "log_frequency": "ln(orders)",
    "log_monetary": "ln(average order value)",
    "log_channels": "ln(1 + distinct channels that touched the customer)",
    "social_share": "share of touches on social platforms",
    "log_order_gap": "ln(1 + mean days between orders, or days since the only order)",
}


@dataclass(frozen=True)
class ClusterSettings:
    k_min: int = 2
    k_max: int = 8
    n_init: int = 4
    silhouette_sample: int = 5000
    bootstrap_refits: int = 10
    seed: int = 0

    def __post_init__(self):
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(f"need 2 <= k_min <= k_max, got {self.k_min}, {self.k_max}")
        if self.n_init < 1 or self.silhouette_sample < 10 or self.bootstrap_refits < 0:
            raise ValueError("n_init >= 1, silhouette_sample >= 10, bootstrap_refits >= 0")


@dataclass(frozen=True)
class ClusterResult:
    customers: pl.DataFrame  # client_id, customer_id, cluster, cluster_segment, distance
    profiles: pl.DataFrame  # cluster: size, segment, centroid (standardized and raw)
    silhouettes: pl.DataFrame  # k, silhouette
    k: int | None
    ari_mean: float | None
    ari_min: float | None
    status: str
    status_message: str


def cluster_features(customers: pl.DataFrame) -> pl.DataFrame:
    """The feature columns (:data:`FEATURES`) from dim_end_customers rows with orders."""
    gap = pl.coalesce("mean_days_between_orders", pl.col("days_since_first_order"))
    return customers.select(
        log_recency=pl.col("days_since_last_order").cast(pl.Float64).log1p(),
        log_frequency=pl.col("valid_orders").cast(pl.Float64).log(),
        log_monetary=pl.col("avg_order_value").log(),
        log_channels=pl.col("channels").cast(pl.Float64).log1p(),
        social_share=pl.col("social_touch_share").fill_null(0.0),
        log_order_gap=gap.cast(pl.Float64).log1p())


def cluster_customers(customers: pl.DataFrame, segments: pl.DataFrame,
                      settings: ClusterSettings = ClusterSettings()) -> ClusterResult:
    """Cluster the customers with orders; ``segments``: client_id, customer_id, segment."""
    rows = customers.filter(pl.col("valid_orders") > 0).sort("client_id", "customer_id")
    raw = cluster_features(rows)
    X = raw.to_numpy()
    sd = X.std(axis=0)
    if rows.height < 2 * settings.k_max or (sd == 0).all():
        return _none(rows, f"{rows.height} customers with orders; at least {2 * settings.k_max} "
                     "with some spread are needed for up to k_max clusters")
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    rng = np.random.default_rng(settings.seed)
    sample = rng.choice(len(Z), min(len(Z), settings.silhouette_sample), replace=False)
    fits, sil = {}, []
    for k in range(settings.k_min, settings.k_max + 1):  # one fit per candidate k
        fits[k] = KMeans(k, n_init=settings.n_init, random_state=settings.seed).fit(Z)
        labels = fits[k].labels_[sample]
        score = silhouette_score(Z[sample], labels) if len(np.unique(labels)) > 1 else np.nan
        sil.append({"k": k, "silhouette": float(score)})
    silhouettes = pl.DataFrame(sil)
    k = int(silhouettes.sort("silhouette", "k", descending=[True, False], nulls_last=True)["k"][0])
    best = fits[k]
    aris = [adjusted_rand_score(best.labels_, KMeans(k, n_init=1, random_state=settings.seed + b)
                                .fit(Z[rng.integers(0, len(Z), len(Z))]).predict(Z))
            for b in range(settings.bootstrap_refits)]
    seg = rows.select("client_id", "customer_id").join(
        segments.select("client_id", "customer_id", "segment"), on=["client_id", "customer_id"],
        how="left", maintain_order="left")["segment"].fill_null("(none)")
    seg_centroids = (pl.DataFrame(Z, schema=list(FEATURES)).with_columns(segment=seg)
                     .group_by("segment").mean().sort("segment"))
    sc = seg_centroids.select(list(FEATURES)).to_numpy()
    dist = ((best.cluster_centers_[:, None, :] - sc[None]) ** 2).sum(axis=2)
    mapped = np.array(seg_centroids["segment"].to_list(), dtype=object)[dist.argmin(axis=1)]
    centroid_raw = X.mean(axis=0) + best.cluster_centers_ * np.where(sd > 0, sd, 1.0)
    profiles = pl.DataFrame({
        "cluster": np.arange(k), "customers": np.bincount(best.labels_, minlength=k),
        "segment": mapped.astype(str),
        **{f"{f}_z": best.cluster_centers_[:, j] for j, f in enumerate(FEATURES)},
        **{f: centroid_raw[:, j] for j, f in enumerate(FEATURES)}})
    own = np.sqrt(((Z - best.cluster_centers_[best.labels_]) ** 2).sum(axis=1))
    out = rows.select("client_id", "customer_id").with_columns(
        cluster=pl.Series(best.labels_.astype(np.int64)),
        cluster_segment=pl.Series(mapped[best.labels_].astype(str)),
        distance_to_centroid=pl.Series(own), status=pl.lit("ok"),
        status_message=pl.lit("computed"))
    ari = np.array(aris)
    return ClusterResult(out, profiles, silhouettes, k,
                         float(ari.mean()) if len(ari) else None,
                         float(ari.min()) if len(ari) else None, "ok", "computed")


def _none(rows: pl.DataFrame, message: str) -> ClusterResult:
    out = rows.select("client_id", "customer_id").with_columns(
        cluster=pl.lit(None, pl.Int64), cluster_segment=pl.lit(None, pl.String),
        distance_to_centroid=pl.lit(None, pl.Float64), status=pl.lit("too_few_customers"),
        status_message=pl.lit(message))
    profiles = pl.DataFrame(schema={"cluster": pl.Int64, "customers": pl.Int64,
                                    "segment": pl.String})
    return ClusterResult(out, profiles, pl.DataFrame(schema={"k": pl.Int64,
                                                             "silhouette": pl.Float64}),
                         None, None, None, "too_few_customers", message)
