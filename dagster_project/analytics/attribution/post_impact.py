"""Post revenue impact: attributed revenue per content item and what drives it.

Each touch that carries a ``content_id`` passes its attributed revenue (a rule-based model's
touch-level credit) to that post; posts without attributed touches get 0. The drivers are
estimated by OLS with client fixed effects (the within estimator: every variable demeaned per
client), on platform and content type dummies (reference: the most common level) and the
automated and viral-optimized flags, with heteroskedasticity-robust HC1 standard errors
(White 1980; MacKinnon & White 1985; the degrees of freedom count the absorbed client means):

    revenue_i = a_client(i) + sum_k b_k x_ik + e_i

Suggestions read the estimates: a factor whose 95% interval lies above 0 is recommended ("more"),
below 0 discouraged ("less"), otherwise no evidence either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats


@dataclass(frozen=True)
class PostImpact:
    posts: pl.DataFrame  # one row per content item
    drivers: pl.DataFrame  # one row per regression term with estimate, interval and suggestion


def post_revenue_impact(content: pl.DataFrame, touch_credits: pl.DataFrame) -> PostImpact:
    """``content``: content_id, client_id, platform, content_type, automated, viral_optimized.
    ``touch_credits``: content_id, credit, revenue_credit (touch level, one model)."""
    per_post = touch_credits.filter(pl.col("content_id").is_not_null()).group_by("content_id").agg(
        pl.col("credit").sum().alias("attributed_conversions"),
        pl.col("revenue_credit").sum().alias("attributed_revenue"),
        pl.len().alias("attributed_touches"))
    posts = content.join(per_post, on="content_id", how="left").with_columns(
        pl.col("attributed_conversions", "attributed_revenue").fill_null(0.0),
        pl.col("attributed_touches").fill_null(0),
        pl.col("automated", "viral_optimized").cast(pl.Boolean))
    terms: list[tuple[str, pl.Expr]] = []
    for factor in ("platform", "content_type"):
        levels = posts[factor].value_counts(sort=True)[factor].to_list()
        terms += [(f"{factor}={lv}", (pl.col(factor) == lv).cast(pl.Float64)) for lv in levels[1:]]
    terms += [("automated", pl.col("automated").cast(pl.Float64)),
              ("viral_optimized", pl.col("viral_optimized").cast(pl.Float64))]
    names = [t for t, _ in terms]
    X_df = posts.select("client_id", "attributed_revenue", *[e.alias(t) for t, e in terms])
    demeaned = X_df.with_columns(
        [(pl.col(c) - pl.col(c).mean().over("client_id")).alias(c) for c in ["attributed_revenue", *names]])
    y = demeaned["attributed_revenue"].to_numpy()
    X = demeaned.select(names).to_numpy()
    keep = X.std(axis=0) > 0
    X, names = X[:, keep], [n for n, k in zip(names, keep) if k]
    n_obs, n_clients = len(y), posts["client_id"].n_unique()
    dof = n_obs - n_clients - X.shape[1]
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    bread = np.linalg.pinv(X.T @ X)
    meat = (X * resid[:, None] ** 2).T @ X
    cov = bread @ meat @ bread * (n_obs / max(dof, 1))
    se = np.sqrt(np.maximum(np.diag(cov), 0))
    tcrit = stats.t.ppf(0.975, max(dof, 1))
    t = np.divide(beta, se, out=np.zeros_like(beta), where=se > 0)
    p = 2 * stats.t.sf(np.abs(t), max(dof, 1))
    lo, hi = beta - tcrit * se, beta + tcrit * se
    suggestion = [
        (f"more {n}: +{b:.2f} revenue per post (95% CI {a:.2f} to {c:.2f})" if a > 0 else
         f"less {n}: {b:.2f} revenue per post (95% CI {a:.2f} to {c:.2f})" if c < 0 else
         f"no evidence on {n} (95% CI {a:.2f} to {c:.2f})")
        for n, b, a, c in zip(names, beta, lo, hi)
    ]
    drivers = pl.DataFrame({"term": names, "estimate": beta, "std_error": se, "ci_lower": lo,
                            "ci_upper": hi, "p_value": p, "suggestion": suggestion,
                            "posts": n_obs, "clients": n_clients})
    effect = X_df.select(names).to_numpy() @ beta if names else np.zeros(posts.height)
    posts = posts.with_columns(pl.Series("explained_effect", effect)).select(
        "content_id", "client_id", "platform", "content_type", "automated", "viral_optimized",
        "attributed_touches", "attributed_conversions", "attributed_revenue", "explained_effect")
    return PostImpact(posts.sort("client_id", "content_id"), drivers)
