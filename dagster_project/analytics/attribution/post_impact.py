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

Every term has a row, with ``status`` (``analytics.attribution.status``): a term that does not
vary within any client (``no_within_client_variation``) or is a linear combination of the
terms before it (``collinear``: aliased, as R's ``lm`` reports NA) is left out of the fit; without
posts (``no_posts``) or residual degrees of freedom (``no_residual_dof``) nothing is estimated;
an exact fit (residual sum of squares below 1e-20 of the total), or a term whose residuals are
all 0 where it varies, has no standard error (``no_residual_variance``: the estimate is kept,
the interval and p-value are null, never p = 1 or 0 from a zero standard error). The other
statuses null the estimate too; the suggestion then gives the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from .status import OK, with_status

STATISTICS = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]


@dataclass(frozen=True)
class PostImpact:
    posts: pl.DataFrame  # one row per content item
    drivers: pl.DataFrame  # one row per regression term with estimate, interval and suggestion


def _estimable(X: np.ndarray) -> np.ndarray:
    """Per column: "ok", or why it cannot be estimated (no within-client variation; collinear
    with the columns before it, judged by the rank of the columns kept so far)."""
    why = np.where(X.std(axis=0) > 0, OK, "no_within_client_variation").astype(object)
    kept: list[int] = []
    for j in np.flatnonzero(why == OK):  # a loop over the terms (a dozen), not over posts
        if np.linalg.matrix_rank(X[:, [*kept, j]]) == len(kept) + 1:
            kept.append(j)
        else:
            why[j] = "collinear"
    return why


EXACT_FIT = 1e-20  # residual / total sum of squares below this: an exact fit up to rounding


def _fit(X: np.ndarray, y: np.ndarray, dof: int) -> tuple[tuple[np.ndarray, ...], bool]:
    """OLS on the demeaned data with HC1 errors: ((beta, se, lower, upper, p), exact fit)."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    exact = bool(resid @ resid <= EXACT_FIT * (y @ y))
    bread = np.linalg.inv(X.T @ X)
    meat = (X * resid[:, None] ** 2).T @ X
    se = np.sqrt(np.maximum(np.diag(bread @ meat @ bread * (len(y) / dof)), 0))
    tcrit = stats.t.ppf(0.975, dof)
    with np.errstate(divide="ignore", invalid="ignore"):  # se 0: no_residual_variance, nulled
        p = 2 * stats.t.sf(np.abs(beta / se), dof)
    return (beta, se, beta - tcrit * se, beta + tcrit * se, p), exact


def _suggestion(term: pl.Expr) -> pl.Expr:
    b, a, c = (pl.col(x).round(2).cast(pl.String) for x in ("estimate", "ci_lower", "ci_upper"))
    ci = pl.format("(95% CI {} to {})", a, c)
    return (pl.when(pl.col("estimate").is_null())
            .then(pl.format("no estimate for {}: {}", term, pl.col("status_message")))
            .when(pl.col("status") != OK)
            .then(pl.format("{}: {} revenue per post, no interval: {}", term, b,
                            pl.col("status_message")))
            .when(pl.col("ci_lower") > 0).then(pl.format("more {}: +{} revenue per post {}", term,
                                                         b, ci))
            .when(pl.col("ci_upper") < 0).then(pl.format("less {}: {} revenue per post {}", term,
                                                         b, ci))
            .otherwise(pl.format("no evidence on {} {}", term, ci)))


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
    n_obs, n_clients = len(y), posts["client_id"].n_unique()
    why = _estimable(X) if n_obs else np.full(len(names), "no_posts", dtype=object)
    keep = why == OK
    dof = n_obs - n_clients - int(keep.sum())
    if n_obs and dof <= 0:
        why[keep] = "no_residual_dof"
        keep[:] = False
    values = np.full((len(STATISTICS), len(names)), np.nan)
    if keep.any():
        fitted, exact = _fit(X[:, keep], y, dof)
        values[:, keep] = np.vstack(fitted)
        why[keep] = "no_residual_variance" if exact else OK
    drivers = pl.DataFrame({"term": names, "posts": n_obs, "clients": n_clients,
                            "__why": list(why), **dict(zip(STATISTICS, values))})
    why_is = [(code, pl.col("__why") == code, STATISTICS)
              for code in ("no_posts", "no_within_client_variation", "collinear", "no_residual_dof")]
    no_spread = (pl.col("__why") == "no_residual_variance") | (pl.col("std_error") == 0)
    rules = [*why_is, ("no_residual_variance", no_spread, STATISTICS[1:])]  # estimate kept
    drivers = with_status(drivers, rules, STATISTICS).with_columns(
        _suggestion(pl.col("term")).alias("suggestion")).select(
        "term", *STATISTICS, "suggestion", "posts", "clients", "status", "status_message")
    fitted = drivers.filter(pl.col("estimate").is_not_null())  # explained by the estimated terms
    effect = (X_df.select(fitted["term"].to_list()).to_numpy() @ fitted["estimate"].to_numpy()
              if fitted.height else np.full(posts.height, None))
    posts = posts.with_columns(pl.Series("explained_effect", effect, pl.Float64)).select(
        "content_id", "client_id", "platform", "content_type", "automated", "viral_optimized",
        "attributed_touches", "attributed_conversions", "attributed_revenue", "explained_effect")
    return PostImpact(posts.sort("client_id", "content_id"), drivers)
