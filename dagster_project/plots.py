"""Generic pictures for asset metadata, shared by every domain's ``defs/<domain>/plots.py``
and assets: bars (optionally with interval whiskers), a histogram, rows per status.

``plot_entry`` attaches one under the ``plot`` key; an empty table gets a note instead of a
picture, saying why there is none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg
import numpy as np
import polars as pl

MAX_BARS = 25


def plt():
    """matplotlib.pyplot on the Agg backend (no display)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def bars(labels: list, values, title: str, xlabel: str, lo=None, hi=None):
    """Horizontal bars of ``values`` per label, with whiskers from ``lo`` to ``hi`` when given
    (nulls drawn as 0 without a whisker); at most ``MAX_BARS`` bars, the caller picks which."""
    pyplot = plt()
    labels = [str(v) for v in labels][:MAX_BARS]
    n = len(labels)
    vals = np.nan_to_num(np.asarray(values, dtype=float)[:n])
    fig, ax = pyplot.subplots(figsize=(7, max(2.0, 0.3 * n + 1)))
    y = np.arange(n)
    ax.barh(y, vals, color="tab:blue", alpha=0.8)
    if lo is not None and hi is not None:
        low = np.asarray(lo, dtype=float)[:n]
        high = np.asarray(hi, dtype=float)[:n]
        ok = ~(np.isnan(low) | np.isnan(high))
        ax.errorbar(vals[ok], y[ok], xerr=[np.clip(vals[ok] - low[ok], 0, None),
                                           np.clip(high[ok] - vals[ok], 0, None)],
                    fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return fig


def histogram(values, title: str, xlabel: str, bins: int = 30):
    """A histogram of the non-null, finite ``values``."""
    pyplot = plt()
    arr = np.asarray(pl.Series(values).drop_nulls().cast(pl.Float64).to_numpy(), dtype=float)
    arr = arr[np.isfinite(arr)]
    fig, ax = pyplot.subplots(figsize=(7, 3.2))
    ax.hist(arr, bins=bins, color="tab:blue", alpha=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows")
    ax.set_title(f"{title} (n={arr.size})")
    return fig


def rows_by(df: pl.DataFrame, column: str, title: str):
    """Bars of the table's row count per value of ``column`` (e.g. its status)."""
    counts = df.group_by(column).len().sort("len", descending=True)
    return bars(["(null)" if v is None else v for v in counts[column].to_list()],
                counts["len"].to_numpy(), title, "rows")


def plot_entry(df: pl.DataFrame, draw: Callable[[pl.DataFrame], Any], alt: str,
               empty_reason: str = "the table has no rows") -> dict[str, dg.MetadataValue]:
    """``{"plot": <PNG of draw(df)>}``, or for an empty ``df`` a ``plot`` note saying why there
    is no picture."""
    from dagster_project.metadata import png_markdown

    if df.height == 0:
        return {"plot": dg.MetadataValue.md(f"_No plot: {empty_reason}._")}
    return {"plot": png_markdown(draw(df), alt)}


def histogram_or_statuses(df: pl.DataFrame, column: str, title: str, xlabel: str):
    """A histogram of ``column``; when it holds no number (every row failed), the rows per
    ``status`` instead, so the picture says why."""
    values = df[column].cast(pl.Float64).fill_nan(None).drop_nulls()
    if values.len() == 0 and "status" in df.columns:
        return rows_by(df, "status", f"{title}: no values, rows by status")
    return histogram(values, title, xlabel)
