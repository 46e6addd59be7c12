"""Status codes of the attribution tables: why a value is null.

``analytics.channel_attribution``, ``analytics.attribution_roi`` and
``analytics.post_revenue_drivers`` carry ``status`` (a code below) and ``status_message`` (its
meaning). A value that is undefined for a row (a share of zero conversions, a ROAS without
spend, a coefficient the regression cannot estimate) is null, never NaN, infinite or a
confident 0; the status says why. When several causes hold, every value they concern is null and
the status names the first, in the order the table's rules are listed; ``non_finite`` (a value
that came out NaN or infinite for any other reason) comes last.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

OK = "ok"
NON_FINITE = "non_finite"

STATUS_CODES: dict[str, str] = {
    OK: "computed; every value is reported",
    "no_conversions": "the client has no conversions: conversion_share (credit / the client's "
                      "conversions) is undefined",
    "no_intervals": "no bootstrap resamples (bootstrap_resamples = 0): the intervals are null",
    "no_spend": "no spend on the channel: roas (revenue / spend) is undefined",
    "no_attributed_conversions": "no conversions credited to the channel: cpa (spend / "
                                 "conversions) is undefined",
    "no_posts": "no posts to fit the regression on",
    "no_within_client_variation": "the term does not vary within any client: the client fixed "
                                  "effects absorb it, so it cannot be estimated",
    "collinear": "the term is a linear combination of the terms listed before it (aliased, as "
                 "R's lm reports it): it cannot be estimated apart from them",
    "no_residual_dof": "no residual degrees of freedom (posts <= clients + estimated terms): no "
                       "standard errors",
    "no_residual_variance": "every residual where the term varies is 0: its standard error is 0 "
                            "and no interval or p-value follows",
    NON_FINITE: "a computed value was NaN or infinite; it is null",
}

Rule = tuple[str, pl.Expr, Sequence[str]]  # (code, condition, the columns it makes null)


def with_status(df: pl.DataFrame, rules: Sequence[Rule], finite: Sequence[str]) -> pl.DataFrame:
    """``df`` with ``status`` and ``status_message``: where a rule's condition holds, its columns
    are null; then any value of ``finite`` that is not finite is null too (``non_finite``). The
    status is the first rule that holds, else ``non_finite``, else ``ok``."""
    unknown = [code for code, _, _ in rules if code not in STATUS_CODES]
    if unknown:
        raise ValueError(f"rules: unknown status code(s) {unknown}; see STATUS_CODES")
    holds = [cond.fill_null(False) for _, cond, _ in rules]
    nulled: dict[str, pl.Expr] = {}
    for (_, _, columns), cond in zip(rules, holds):
        for c in columns:
            nulled[c] = nulled[c] | cond if c in nulled else cond
    df = df.with_columns(pl.when(~hit).then(pl.col(c)).alias(c) for c, hit in nulled.items())
    df = df.with_columns(pl.any_horizontal(
        pl.lit(False), *[~pl.col(c).is_finite().fill_null(True) for c in finite]
    ).alias("__non_finite"))
    df = df.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in finite)
    causes = [*zip([code for code, _, _ in rules], holds), (NON_FINITE, pl.col("__non_finite"))]
    status = pl.when(causes[0][1]).then(pl.lit(causes[0][0]))
    for code, cond in causes[1:]:
        status = status.when(cond).then(pl.lit(code))
    return df.with_columns(status.otherwise(pl.lit(OK)).alias("status")).drop(
        "__non_finite").with_columns(
        pl.col("status").replace_strict(STATUS_CODES, return_dtype=pl.String)
        .alias("status_message"))
