"""Which arms' sufficient statistics can be used: one status per arm x metric.

The checks, in the precedence of :data:`.status.STATUS_CODES` (the first that fails is kept):
the experiment and the variant are registered and the arm has data; the metric is known; a
``signups`` arm has a positive weight; every statistic the metric needs is a finite number
(``conversion``: n, n_converted; ``revenue_14d``: n, sum_y, sum_y2, sum_x, sum_x2, sum_xy;
``revenue_per_converter``: n, n_converted, sum_y, sum_y2, sum_yc; ``signups``: n); counts are
whole, non-negative and conversions do not exceed units; the arm has units (converters for the
ratio) and, for means and ratios, at least two; sums of squared deviations are not negative and
covariances respect Cauchy-Schwarz, beyond rounding (:data:`.estimates.ROUNDING`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import estimates as es
from .status import first_failing

NEEDS = {
    "proportion": ("n", "n_converted"),
    "mean": ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy"),
    "ratio": ("n", "n_converted", "sum_y", "sum_y2", "sum_yc"),
    "count": ("n",),
}


def _first_missing(kind: pl.Expr) -> pl.Expr:
    """The name of the first statistic the row's metric needs that is null or not finite."""
    out = pl.lit(None, pl.String)
    for k, cols in reversed(NEEDS.items()):
        name = pl.lit(None, pl.String)
        for c in reversed(cols):
            name = pl.when(pl.col(c).is_null() | ~pl.col(c).is_finite()).then(pl.lit(c)).otherwise(name)
        out = pl.when(kind == k).then(name).otherwise(out)
    return out


def deviations(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``_syy``, ``_sxx``, ``_sxy`` (mean metrics) and ``_sdd``, ``_syd`` (ratio: y over the
    converted indicator): sums of squared deviations and cross-deviations from the sums."""
    a = {c: df[c].cast(pl.Float64).fill_null(np.nan).to_numpy()
         for c in ("n", "n_converted", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy", "sum_yc")}
    with np.errstate(invalid="ignore", divide="ignore"):
        return df.with_columns(
            _syy=es.sum_sq_dev(a["n"], a["sum_y"], a["sum_y2"]),
            _sxx=es.sum_sq_dev(a["n"], a["sum_x"], a["sum_x2"]),
            _sxy=a["sum_xy"] - a["sum_x"] * a["sum_y"] / a["n"],
            _sdd=es.sum_sq_dev(a["n"], a["n_converted"], a["n_converted"]),
            _syd=a["sum_yc"] - a["n_converted"] * a["sum_y"] / a["n"],
        ).with_columns(pl.col("_syy", "_sxx", "_sxy", "_sdd", "_syd").fill_nan(None))


def _beyond_cauchy_schwarz(cross: str, a: str, b: str) -> pl.Expr:
    return pl.col(cross) ** 2 > pl.col(a) * pl.col(b) * (1 + 1e-9) + 1e-12


def arm_status(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``arm_status`` and ``arm_status_message`` to rows of arm x metric.

    Needs: experiment_id, variant, metric, metric_type ('unknown' when the metric is not known),
    ``_known_experiment``, ``_registered``, ``_observed`` (booleans), ``registered_variants``
    (text), weight and the statistic columns (nulls allowed)."""
    d = deviations(df)
    kind = pl.col("metric_type")
    arm = pl.format("arm '{}'", pl.col("variant"))
    uses_conv = kind.is_in(["proportion", "ratio"])
    whole = pl.col("n") == pl.col("n").floor()
    conv_ok = (pl.col("n_converted") >= 0) & (pl.col("n_converted") == pl.col("n_converted").floor()) \
        & (pl.col("n_converted") <= pl.col("n"))
    checks = [
        (~pl.col("_known_experiment"), "unknown_experiment",
         pl.format("experiment '{}' is not in the registry", pl.col("experiment_id"))),
        (~pl.col("_registered"), "unknown_variant",
         pl.format("variant '{}' is not registered for {} (registered: {}); its {} units are "
                   "not compared", pl.col("variant"), pl.col("experiment_id"),
                   pl.col("registered_variants"), pl.col("n").fill_null(0).cast(pl.Int64, strict=False))),
        (~pl.col("_observed"), "missing_arm", pl.format("{} has no data", arm)),
        (kind == "unknown", "unknown_metric",
         pl.format("metric '{}' is not a known metric", pl.col("metric"))),
        ((kind == "count") & ~(pl.col("weight") > 0).fill_null(False), "invalid_weights",
         pl.format("{} has weight {}: arrivals per weight are undefined", arm, pl.col("weight"))),
        (_first_missing(kind).is_not_null(), "missing_stats",
         pl.format("{}: {} is null or not finite", arm, _first_missing(kind))),
        ((pl.col("n") < 0) | ~whole | (uses_conv & ~conv_ok), "invalid_counts",
         pl.format("{}: n = {}, n_converted = {}: counts must be whole and >= 0, with "
                   "conversions <= units", arm, pl.col("n"), pl.col("n_converted"))),
        ((kind != "count") & (pl.col("n") == 0), "zero_users", pl.format("{} has no units", arm)),
        ((kind == "ratio") & (pl.col("n_converted") == 0), "zero_users",
         pl.format("{} has no converted units: revenue per converter is undefined", arm)),
        (kind.is_in(["mean", "ratio"]) & (pl.col("n") == 1), "too_few_users",
         pl.format("{} has a single unit: its variance cannot be estimated", arm)),
        ((kind == "mean") & ((pl.col("_syy") < 0) | (pl.col("_sxx") < 0)
                             | _beyond_cauchy_schwarz("_sxy", "_sxx", "_syy")),
         "inconsistent_stats",
         pl.format("{}: sum_y2, sum_x2 and sum_xy are impossible with sum_y, sum_x and n (a "
                   "negative variance or |cov| > sd_x sd_y)", arm)),
        ((kind == "ratio") & ((pl.col("_syy") < 0) | _beyond_cauchy_schwarz("_syd", "_sdd", "_syy")),
         "inconsistent_stats",
         pl.format("{}: sum_y2 and sum_yc are impossible with sum_y, n_converted and n", arm)),
    ]
    status, message = first_failing(checks)
    return d.with_columns(arm_status=status, arm_status_message=message).drop(
        "_syy", "_sxx", "_sxy", "_sdd", "_syd")
