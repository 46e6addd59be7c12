"""How often to post: the weekly posting frequency that maximizes a week's engagements.

Model, per platform, on client x week rows (weeks whose posts are all observed for their whole
engagement window), with client fixed effects (:mod:`.fixed_effects`, client-clustered errors):

    E_cw = a_c + alpha n_cw + beta n_cw^2 + e_cw

E the week's engagements of the posts published in it, n the posts. Diminishing returns mean
beta < 0; the frequency that maximizes expected weekly engagements is the vertex
n* = -alpha / (2 beta), with a delta-method interval (gradient (-1 / (2 beta),
alpha / (2 beta^2)) and the clustered covariance of (alpha, beta)). The optimum is reported
(``ok``) only when beta's interval lies below 0 and n* within the observed range (5th-95th
percentile of n); otherwise ``no_interior_optimum``: engagement keeps rising with frequency in
the data, and no frequency is recommended. Fewer than ``min_clients`` clients with two or more
distinct weekly counts is ``too_few_clients``. The fit (alpha, beta and beta's interval) has
its own ``fit_status``, so the evidence against an optimum stays when ``status`` is
``no_interior_optimum``. The per-client recommendation (the platform's optimum) needs
``min_weeks`` of the client's own weeks on the platform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from .fixed_effects import demean
from .status import with_status

VALUES = ["alpha", "beta", "beta_low", "beta_high", "optimal_posts_per_week",
          "optimal_low", "optimal_high"]


@dataclass(frozen=True)
class FrequencySettings:
    min_weeks: int = 8
    min_clients: int = 10
    level: float = 0.95

    def __post_init__(self):
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}")
        if self.min_weeks < 2 or self.min_clients < 2:
            raise ValueError("min_weeks and min_clients must be at least 2")


def _quadratic(group: pl.DataFrame, level: float) -> dict:
    if group.height == 0:
        return {}
    _, codes = np.unique(group["client_id"].to_numpy(), return_inverse=True)
    n = group["posts"].to_numpy().astype(float)
    Z = demean(np.column_stack([group["engagements"].to_numpy().astype(float), n, n * n]), codes)
    y, X = Z[:, 0], Z[:, 1:]
    G, N = int(codes.max()) + 1, len(y)
    if G < 2 or N <= G + 2 or np.linalg.matrix_rank(X) < 2:
        return {}
    bread = np.linalg.inv(X.T @ X)
    b = bread @ X.T @ y
    scores = np.zeros((G, 2))
    np.add.at(scores, codes, X * (y - X @ b)[:, None])
    cov = bread @ (scores.T @ scores) @ bread * (G / (G - 1) * (N - 1) / (N - 2))
    t = stats.t.ppf(0.5 + level / 2, G - 1)
    alpha, beta = b
    se_b = float(np.sqrt(max(cov[1, 1], 0)))
    vertex = -alpha / (2 * beta) if beta != 0 else np.nan
    grad = np.array([-1 / (2 * beta), alpha / (2 * beta**2)]) if beta != 0 else np.full(2, np.nan)
    se_v = float(np.sqrt(max(grad @ cov @ grad, 0))) if beta != 0 else np.nan
    lo, hi = np.quantile(n, [0.05, 0.95])
    return {"alpha": alpha, "beta": beta, "beta_low": beta - t * se_b, "beta_high": beta + t * se_b,
            "optimal_posts_per_week": vertex, "optimal_low": vertex - t * se_v,
            "optimal_high": vertex + t * se_v, "observed_low": float(lo), "observed_high": float(hi)}


def frequency_curves(weeks: pl.DataFrame, settings: FrequencySettings) -> pl.DataFrame:
    """``weeks``: client_id, platform, week_start, posts, engagements (zero-post weeks included).
    One row per platform: the quadratic fit, the optimum and its status."""
    rows = []
    for (platform,), group in weeks.partition_by("platform", as_dict=True).items():  # six groups
        eligible = group.filter(pl.len().over("client_id") >= settings.min_weeks)
        varying = eligible.group_by("client_id").agg(pl.col("posts").n_unique() > 1)["posts"].sum()
        rows.append({"platform": platform, "client_weeks": eligible.height,
                     "clients": int(varying), **_quadratic(eligible, settings.level)})
    schema = {"platform": pl.String, "client_weeks": pl.Int64, "clients": pl.Int64,
              **{c: pl.Float64 for c in [*VALUES, "observed_low", "observed_high"]}}
    df = pl.DataFrame(rows, schema=schema)
    fit_checks = [(pl.col("clients") < settings.min_clients, "too_few_clients"),
                  (pl.col("beta").is_null(), "no_variation")]
    df = with_status(df, fit_checks, VALUES[:4], prefix="fit_")
    return with_status(df, [*fit_checks, (
        (pl.col("beta_high") >= 0) | (pl.col("optimal_posts_per_week") < pl.col("observed_low"))
        | (pl.col("optimal_posts_per_week") > pl.col("observed_high")), "no_interior_optimum")],
        VALUES[4:]).sort("platform")
