"""Multiple-testing corrections: Holm (1979) and Benjamini & Hochberg (1995), within groups.

One implementation each, vectorized over any number of groups (``group``: one label per
p-value, e.g. the experiment): p-values are sorted by (group, p), the step-down / step-up
multipliers come from each p-value's rank within its group, and the cumulative max (Holm) or
reverse cumulative min (BH) runs over the whole sorted array at once. To keep one group's
running max or min from reaching into the next group, each value is replaced by its integer
rank among all values and the g-th group's ranks are offset by ``g x (number of distinct
values)``: exact, unlike offsetting the p-values themselves by ``2 g``, which would round a
p-value of 1e-31 in group 3 to 0.

NaN p-values (comparisons without a test) are left out: they do not count in a group's ``m``
and stay NaN. The results equal statsmodels ``multipletests(method="holm" | "fdr_bh")`` on the
non-NaN p-values of each group; ties get equal adjusted values.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def _check(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    bad = ~np.isnan(p) & ((p < 0) | (p > 1))
    if bad.any():
        raise ValueError(f"p: p-values must lie in [0, 1] (NaN for no test); got {p[bad][:3]}")
    return p


def _sorted_ranks(p: np.ndarray, group) -> tuple:
    """Order (by group, then p, NaN last), group code, rank among non-NaN and m, in that order."""
    codes = (np.zeros(p.size, dtype=np.int64) if group is None
             else np.unique(np.asarray(group), return_inverse=True)[1].ravel())
    order = np.lexsort((np.where(np.isnan(p), np.inf, p), codes))
    g, ps = codes[order], p[order]
    valid = ~np.isnan(ps)
    start = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    size = np.diff(np.r_[start, g.size])
    count = np.cumsum(valid)
    before = np.repeat(np.r_[0, count][start], size)  # non-NaN values in earlier groups
    rank = count - before
    m = np.repeat(np.add.reduceat(valid.astype(np.int64), start) if g.size else [], size)
    return order, g, ps, valid, rank, m


def _grouped_accumulate(values: np.ndarray, g: np.ndarray, accumulate) -> np.ndarray:
    """``accumulate`` (np.maximum / np.minimum .accumulate) restarted at each change of the
    sorted group code ``g``, exactly (on integer ranks offset per group)."""
    distinct, rank = np.unique(values, return_inverse=True)
    offset = g * distinct.size
    return distinct[accumulate(rank.ravel() + offset) - offset]


def holm(p, group=None) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values within each group:
    ``max_{j <= i} min(1, (m - j + 1) p_(j))`` over the group's sorted non-NaN p-values."""
    p = _check(p)
    out = np.full(p.shape, np.nan)
    if not p.size:
        return out
    order, g, ps, valid, rank, m = _sorted_ranks(p.ravel(), group)
    adj = np.minimum(1.0, (m - rank + 1) * ps)
    running = _grouped_accumulate(np.where(valid, adj, 0.0), g, np.maximum.accumulate)
    out.ravel()[order] = np.where(valid, running, np.nan)
    return out


def benjamini_hochberg(p, group=None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate) within each group:
    ``min_{j >= i} min(1, m p_(j) / j)`` over the group's sorted non-NaN p-values."""
    p = _check(p)
    out = np.full(p.shape, np.nan)
    if not p.size:
        return out
    order, g, ps, valid, rank, m = _sorted_ranks(p.ravel(), group)
    with np.errstate(invalid="ignore", divide="ignore"):
        adj = np.minimum(1.0, m * ps / rank)
    running = _grouped_accumulate(np.where(valid, adj, 1.0)[::-1], g[::-1],
                                  np.minimum.accumulate)[::-1]
    out.ravel()[order] = np.where(valid, running, np.nan)
    return out


def adjust_pvalues(df: pl.DataFrame, by=("experiment_id",), p_col: str = "p_value") -> pl.DataFrame:
    """Add ``p_holm`` and ``p_bh``: :func:`holm` and :func:`benjamini_hochberg` within each
    ``by`` group (across its variants and metrics). Null p-values stay null and are not
    counted in the group's number of tests."""
    by = list(by)
    groups = df.select(by).unique(maintain_order=True).with_row_index("_group")
    code = df.select(by).join(groups, on=by, how="left", nulls_equal=True,
                              maintain_order="left")["_group"].to_numpy()
    p = df[p_col].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return df.with_columns(p_holm=holm(p, code), p_bh=benjamini_hochberg(p, code)).with_columns(
        pl.col("p_holm", "p_bh").fill_nan(None))
