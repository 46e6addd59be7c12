"""Status codes of the usage tables: why a row carries no statistic.

Every row of analytics.usage_platform_trends, usage_feature_adoption_curves,
usage_adoption_by_tier, usage_platform_correlations, usage_feature_effects and
posting_recommendations has ``status`` and ``status_message`` (posting_recommendations has one
pair per recommendation: hours, frequency, days). Unless the status is ``ok`` the row's
estimates and intervals are null: degenerate input never yields a confident number.
"""

from __future__ import annotations

import polars as pl

OK = "ok"

STATUS_CODES: dict[str, str] = {
    OK: "computed; every statistic is reported",
    "too_few_weeks": "fewer full weeks of data than the minimum: no trend or frequency estimate",
    "no_variation": "the values (or the regressor) do not vary: no slope, correlation or "
                    "interval can be estimated",
    "no_impressions": "no impressions: the engagement rate is undefined",
    "too_few_posts": "fewer complete posts than the minimum-data rule asks: nothing is recommended",
    "too_few_clients": "fewer clients than the minimum in whom the regressor varies: no "
                       "fixed-effects estimate",
    "no_clients": "no active client in the tier",
    "no_peak": "no hour (or day) has an interval above the client's average: none is recommended",
    "no_interior_optimum": "engagement shows no diminishing returns within the observed posting "
                           "frequencies (the quadratic term is not significantly negative, or "
                           "its vertex lies outside the observed range): no optimum to recommend",
}


def status_table() -> pl.DataFrame:
    """The codes and their meanings as a frame (for metadata and docs)."""
    return pl.DataFrame({"status": list(STATUS_CODES), "meaning": list(STATUS_CODES.values())})


def status_description() -> str:
    """The ``status`` column's description: every code with its meaning."""
    return "Why a row has no statistics (null unless ok): " + "; ".join(
        f"{k}: {v}" for k, v in STATUS_CODES.items())


def with_status(df: pl.DataFrame, checks: list[tuple[pl.Expr, str]], values: list[str],
                prefix: str = "", codes: dict[str, str] = STATUS_CODES) -> pl.DataFrame:
    """``df`` with ``{prefix}status`` / ``{prefix}status_message`` from ``checks`` (the first
    ``(condition, code)`` that holds, in list order; a null condition does not hold) and
    ``values`` set to null on every row that is not ok. ``codes``: the table of codes and
    messages (this domain's by default)."""
    for _, code in checks:
        if code not in codes:
            raise ValueError(f"checks: unknown status code {code!r}")
    status = pl.lit(OK)
    for cond, code in reversed(checks):
        status = pl.when(cond.fill_null(False)).then(pl.lit(code)).otherwise(status)
    s_col, m_col = f"{prefix}status", f"{prefix}status_message"
    out = df.with_columns(status.alias(s_col))
    return out.with_columns(
        pl.col(s_col).replace_strict(codes, return_dtype=pl.String).alias(m_col),
        *[pl.when(pl.col(s_col) == OK).then(pl.col(c)).otherwise(None).alias(c) for c in values])
