"""Status codes: why a read-out row carries no statistics.

Every row of ``analytics.experiment_results``, ``analytics.experiment_monitor`` and
``analytics.experiment_power`` has ``status`` (a code below) and ``status_message`` (the code's
reason for that row, in words). When ``status`` is not ``ok`` every p-value, interval, chance to
win and decision of the row is null: degenerate input never yields a confident number. Data
problems become statuses; arguments that only a programming error can produce (p-values outside
[0, 1], alpha outside (0, 1), negative weights) raise ``ValueError`` instead.

When several apply, a row shows the first cause in the order its checks run (for a comparison:
the treatment arm, the control arm, the experiment's settings, the comparison itself, the
plan), and within one check the first in the order of :data:`STATUS_CODES`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

OK = "ok"

#: code -> meaning, in precedence order within one check (the first that applies is reported).
STATUS_CODES: dict[str, str] = {
    OK: "computed; every statistic is reported",
    "unknown_experiment": "units of an experiment that is not in the registry",
    "unknown_variant": "units in a variant that is not among the experiment's registered "
                       "variants (e.g. a typo in the name); they are not compared",
    "missing_arm": "a registered arm (the control or this treatment) has no data",
    "unknown_metric": "the metric is not one of the known metrics",
    "invalid_alpha": "the experiment's alpha is not in (0, 1)",
    "invalid_weights": "the variant weights are not all positive or do not sum to 1",
    "invalid_design": "power not in (0, 1), a minimum detectable effect <= 0, or a conversion "
                      "baseline x (1 + mde) >= 1",
    "invalid_prior": "the prior on the relative effect is incomplete (mean without sd or the "
                     "reverse), not finite, or has sd <= 0",
    "missing_stats": "a sufficient statistic the metric needs is null or not finite",
    "invalid_counts": "a count is negative or not whole, or conversions exceed units",
    "zero_users": "an arm has no units (for revenue_per_converter: no converters)",
    "too_few_users": "an arm has a single unit: its variance cannot be estimated",
    "inconsistent_stats": "the sums cannot come from real data (a negative sum of squared "
                          "deviations, or a covariance beyond the Cauchy-Schwarz bound)",
    "missing_baseline": "no baseline in the registry and no control data to estimate it",
    "zero_baseline": "the control's mean (or the planned baseline) is 0 or negative: a relative "
                     "lift is undefined",
    "zero_variance": "an arm's metric does not vary (variance 0): no test is possible (gbstats "
                     "refuses the same case)",
    "no_plan": "the experiment's planned sample could not be computed (see the status in "
               "analytics.experiment_power), so the always-valid interval has no tuning",
}
STATUS_RANK = {code: i for i, code in enumerate(STATUS_CODES)}


def status_table() -> pl.DataFrame:
    """The codes and their meanings as a frame (for metadata and docs)."""
    return pl.DataFrame({"status": list(STATUS_CODES), "meaning": list(STATUS_CODES.values())})


def first_status(*checks: tuple[np.ndarray, str, np.ndarray | str]) -> tuple[np.ndarray, np.ndarray]:
    """(status, message) arrays from ``(condition, code, message)`` checks.

    Each condition is a boolean array (broadcast together); the reported code is the one of
    highest precedence in :data:`STATUS_CODES` among the conditions that hold, ``ok`` otherwise.
    ``message`` is a string or an array of strings (one per row)."""
    checks = sorted(checks, key=lambda c: STATUS_RANK[c[1]], reverse=True)
    shape = np.broadcast_shapes(*(np.shape(c[0]) for c in checks)) if checks else ()
    status = np.full(shape, OK, dtype=object)
    message = np.full(shape, STATUS_CODES[OK], dtype=object)
    for cond, code, msg in checks:  # lowest precedence first, overwritten by higher ones
        cond = np.broadcast_to(np.asarray(cond, dtype=bool), shape)
        status = np.where(cond, code, status)
        message = np.where(cond, np.broadcast_to(np.asarray(msg, dtype=object), shape), message)
    return status, message


def first_failing(checks: list[tuple[pl.Expr, str, pl.Expr]]) -> tuple[pl.Expr, pl.Expr]:
    """(status, message) expressions from ``(condition, code, message)`` checks: the code of
    highest precedence whose condition holds (a null condition does not hold), else ``ok``."""
    status, message = pl.lit(OK), pl.lit(STATUS_CODES[OK])
    # lowest precedence first, so that the outermost ``when`` is the first problem listed
    ranked = sorted(enumerate(checks), key=lambda ic: (STATUS_RANK[ic[1][1]], ic[0]), reverse=True)
    for _, (cond, code, msg) in ranked:
        status = pl.when(cond.fill_null(False)).then(pl.lit(code)).otherwise(status)
        message = pl.when(cond.fill_null(False)).then(msg).otherwise(message)
    return status, message


def combine(status_cols: list[str], message_cols: list[str]) -> tuple[pl.Expr, pl.Expr]:
    """Expressions picking, row by row, the first status among ``status_cols`` that is neither
    ``ok`` nor null (``ok`` when there is none) and the message that came with it: list the
    causes before their consequences (an arm's missing statistic before the comparison's
    undefined lift)."""
    status, message = pl.lit(OK), pl.lit(STATUS_CODES[OK])
    for s, m in reversed(list(zip(status_cols, message_cols))):
        problem = pl.col(s).is_not_null() & (pl.col(s) != OK)
        status = pl.when(problem).then(pl.col(s)).otherwise(status)
        message = pl.when(problem).then(pl.col(m)).otherwise(message)
    return status, message


def null_unless_ok(columns: list[str], status: str = "status") -> list[pl.Expr]:
    """``columns`` set to null on rows whose ``status`` is not ``ok`` (NaN never leaks out)."""
    return [pl.when(pl.col(status) == OK).then(pl.col(c)).otherwise(None).alias(c)
            for c in columns]


def contract_breaches(df: pl.DataFrame, columns: list[str], status: str = "status") -> pl.DataFrame:
    """Rows breaking the status contract: an ``ok`` row with a null or non-finite value in
    ``columns``, or a non-ok row with any non-null value there."""
    numeric = [c for c in columns if df.schema[c].is_numeric()]
    bad_ok = pl.any_horizontal([pl.col(c).is_null() for c in columns]
                               + [~pl.col(c).is_finite() for c in numeric])
    leaked = pl.any_horizontal([pl.col(c).is_not_null() for c in columns])
    return df.filter(pl.when(pl.col(status) == OK).then(bad_ok).otherwise(leaked))
