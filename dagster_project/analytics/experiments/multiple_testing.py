"""Multiple-testing corrections: Holm (1979) and Benjamini & Hochberg (1995)."""

from __future__ import annotations

import numpy as np
import polars as pl

from .estimates import _a


def holm(p) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values: ``max_{j<=i} min(1, (m - j + 1) p_(j))`` in sorted order."""
    p = _a(p)
    order = np.argsort(p, kind="stable")
    m = p.size
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate):
    ``min_{j>=i} min(1, m p_(j) / j)`` in sorted order."""
    p = _a(p)
    order = np.argsort(p, kind="stable")
    m = p.size
    adj = np.minimum.accumulate((m * p[order] / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def adjust_pvalues(df: pl.DataFrame, by=("experiment_id",), p_col: str = "p_value") -> pl.DataFrame:
    """Add ``p_holm`` and ``p_bh``: Holm-Bonferroni and Benjamini-Hochberg adjusted p-values
    within each ``by`` group (across its variants and metrics); same values as statsmodels
    ``multipletests(method="holm" | "fdr_bh")``."""
    by = list(by)
    rank = pl.int_range(1, pl.len() + 1).over(by)
    m = pl.len().over(by)
    p = pl.col(p_col)
    return (
        df.with_row_index("_row").sort([*by, p_col])
        .with_columns(p_holm=((m - rank + 1) * p).clip(upper_bound=1.0).cum_max().over(by),
                      p_bh=(m * p / rank).cum_min(reverse=True).over(by).clip(upper_bound=1.0))
        .sort("_row").drop("_row")
    )
