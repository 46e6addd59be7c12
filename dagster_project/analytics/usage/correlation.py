"""Cross-platform correlation of weekly engagement and attributed revenue, within clients.

For two series u, v (a platform's weekly engagements or attributed revenue) over the client
weeks where the client is on both platforms: each series is demeaned per client (so big and
small clients do not manufacture a correlation), and r is Pearson's correlation of the demeaned
values pooled over clients. Interval: Fisher's z, atanh(r) +- z / sqrt(n_eff - 3) with n_eff =
rows - clients (each client's mean uses up one degree of freedom), an approximation that treats
weeks as independent. ``too_few_weeks`` below ``min_rows`` rows (or n_eff <= 3), ``no_variation``
when a demeaned series is constant.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
from scipy import stats

from .fixed_effects import demean
from .status import with_status

METRICS = ("engagements", "revenue")
VALUES = ["correlation", "ci_low", "ci_high"]


def platform_correlations(panel: pl.DataFrame, level: float = 0.95, min_rows: int = 20) -> pl.DataFrame:
    """``panel``: client_id, platform, week_start, engagements, revenue. One row per pair of
    (metric, platform) series (each unordered pair once, a series with itself excluded)."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    long = panel.unpivot(index=["client_id", "week_start", "platform"], on=list(METRICS),
                         variable_name="metric").with_columns(
        (pl.col("metric") + ":" + pl.col("platform")).alias("series"))
    wide = long.pivot(on="series", index=["client_id", "week_start"], values="value")
    series = sorted(c for c in wide.columns if ":" in c)
    _, clients = np.unique(wide["client_id"].to_numpy(), return_inverse=True)
    rows = []
    for a, b in itertools.combinations(series, 2):  # pairs of columns, at most 66
        both = (wide[a].is_not_null() & wide[b].is_not_null()).to_numpy()
        n = int(both.sum())
        if n == 0:
            rows.append((a, b, 0, 0, np.nan))
            continue
        codes = clients[both]
        Z = demean(np.column_stack([wide[a].to_numpy()[both], wide[b].to_numpy()[both]]), codes)
        sd = Z.std(axis=0)
        r = float((Z[:, 0] * Z[:, 1]).mean() / (sd[0] * sd[1])) if (sd > 1e-12).all() else np.nan
        rows.append((a, b, n, int((np.bincount(codes) > 0).sum()), r))
    df = pl.DataFrame(rows, schema={"x": pl.String, "y": pl.String, "client_weeks": pl.Int64,
                                    "clients": pl.Int64, "correlation": pl.Float64}, orient="row")
    n_eff = (pl.col("client_weeks") - pl.col("clients")).cast(pl.Float64)
    zr = pl.col("correlation").clip(-0.999999, 0.999999).arctanh()
    half = z / (n_eff - 3).clip(lower_bound=1e-9).sqrt()
    df = df.with_columns(
        pl.col("x").str.split_exact(":", 1).struct.rename_fields(["metric_x", "platform_x"]).alias("_x"),
        pl.col("y").str.split_exact(":", 1).struct.rename_fields(["metric_y", "platform_y"]).alias("_y"),
        (zr - half).tanh().alias("ci_low"), (zr + half).tanh().alias("ci_high"),
        pl.col("correlation").fill_nan(None)).unnest("_x", "_y")
    df = with_status(df, [((pl.col("client_weeks") < min_rows) | (n_eff <= 3), "too_few_weeks"),
                          (pl.col("correlation").is_null(), "no_variation")], VALUES)
    return df.select("metric_x", "platform_x", "metric_y", "platform_y", "client_weeks", "clients",
                     *VALUES, "status", "status_message").sort("metric_x", "platform_x", "metric_y", "platform_y")
