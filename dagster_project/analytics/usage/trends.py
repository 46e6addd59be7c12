"""Linear trend of a weekly series, per group, with a t interval.

Estimand: the slope b of the least-squares line y_w = a + b w over a group's weeks w (the
change per week), and the relative trend b / mean(y) (the change per week as a share of the
group's weekly mean). Formula (OLS on one regressor): b = S_xy / S_xx with centred sums,
s^2 = (S_yy - b S_xy) / (n - 2), se(b) = sqrt(s^2 / S_xx), interval b +- t_{n-2} se(b). It
assumes independent, homoskedastic weekly errors around a straight line (autocorrelated weeks
make the interval too narrow). Computed from per-group sums (vectorized; matches
scipy.stats.linregress). A group with fewer than ``min_weeks`` weeks is ``too_few_weeks``; one
whose values are constant (no residual variance, so a degenerate interval) ``no_variation``.
"""

from __future__ import annotations

import polars as pl
from scipy import stats

from .status import with_status


def weekly_trends(df: pl.DataFrame, keys: list[str], week: str, value: str,
                  level: float = 0.95, min_weeks: int = 4) -> pl.DataFrame:
    """One row per group of ``keys``: weeks, mean, slope (per week) with its interval, the
    relative trend (slope / mean) with its interval, status. ``week`` is a numeric week index
    (or a date, counted in weeks)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if min_weeks < 3:
        raise ValueError(f"min_weeks must be at least 3 (a slope and its variance), got {min_weeks}")
    x = pl.col(week)
    if df.schema[week] in (pl.Date, pl.Datetime):
        x = (pl.col(week) - pl.col(week).min()).dt.total_days() / 7.0
    g = (df.select(*keys, x.cast(pl.Float64).alias("_x"), pl.col(value).cast(pl.Float64).alias("_y"))
         .with_columns((pl.col("_x") - pl.col("_x").mean().over(keys)).alias("_xc"),
                       (pl.col("_y") - pl.col("_y").mean().over(keys)).alias("_yc"))
         .group_by(keys).agg(
             pl.len().alias("weeks"), pl.col("_y").mean().alias("mean"),
             (pl.col("_xc") ** 2).sum().alias("_sxx"), (pl.col("_xc") * pl.col("_yc")).sum().alias("_sxy"),
             (pl.col("_yc") ** 2).sum().alias("_syy")))
    dof = (pl.col("weeks") - 2).cast(pl.Float64)
    slope = pl.col("_sxy") / pl.col("_sxx")
    se = (((pl.col("_syy") - slope * pl.col("_sxy")).clip(lower_bound=0) / dof) / pl.col("_sxx")).sqrt()
    tcrit = pl.col("weeks").map_batches(
        lambda n: pl.Series(stats.t.ppf(0.5 + level / 2, (n.to_numpy() - 2).clip(1))),
        return_dtype=pl.Float64)
    g = g.with_columns(slope.alias("slope"), se.alias("slope_se"), tcrit.alias("_t")).with_columns(
        (pl.col("slope") - pl.col("_t") * pl.col("slope_se")).alias("slope_low"),
        (pl.col("slope") + pl.col("_t") * pl.col("slope_se")).alias("slope_high"))
    rel = [(pl.col(c) / pl.col("mean")).alias(f"relative_{c}") for c in ("slope", "slope_low", "slope_high")]
    g = g.with_columns(pl.when(pl.col("mean") != 0).then(e).otherwise(None) for e in rel)
    values = ["slope", "slope_se", "slope_low", "slope_high", "relative_slope",
              "relative_slope_low", "relative_slope_high"]
    out = with_status(g, [(pl.col("weeks") < min_weeks, "too_few_weeks"),
                          ((pl.col("_syy") <= 1e-12 * (1 + pl.col("mean") ** 2) * pl.col("weeks"))
                           | (pl.col("_sxx") <= 0), "no_variation")], values)
    return out.select(*keys, "weeks", "mean", *values, "status", "status_message").sort(keys)
