"""Pictures for the customers assets' metadata."""

from __future__ import annotations

import numpy as np
import polars as pl

from dagster_project.plots import plt as pyplot


def segment_sizes(rfm: pl.DataFrame):
    """Customers per RFM segment (all clients)."""
    plt = pyplot()
    counts = rfm.filter(pl.col("segment").is_not_null()).group_by("segment").len().sort("len")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(counts["segment"].to_list(), counts["len"].to_numpy())
    ax.set_xlabel("end-customers (all clients)")
    ax.set_title("RFM segments")
    return fig


def clv_by_segment(segments: pl.DataFrame):
    """Mean 12-month CLV per RFM segment, pooled over clients, with the range of the clients'
    bootstrap intervals' customer-weighted means."""
    plt = pyplot()
    pooled = segments.group_by("segment").agg(
        clv=(pl.col("clv_total").sum() / pl.col("customers").sum()),
        lower=(pl.col("clv_total_lower").sum() / pl.col("customers").sum()),
        upper=(pl.col("clv_total_upper").sum() / pl.col("customers").sum())).sort("clv")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    y = np.arange(pooled.height)
    clv = pooled["clv"].to_numpy()
    err = np.vstack([clv - pooled["lower"].fill_null(np.nan).to_numpy(),
                     pooled["upper"].fill_null(np.nan).to_numpy() - clv])
    ax.barh(y, clv, xerr=np.clip(np.nan_to_num(err), 0, None), capsize=3)
    ax.set_yticks(y, pooled["segment"].to_list())
    ax.set_xlabel("mean 12-month CLV per customer (USD)")
    ax.set_title("Lifetime value by RFM segment (bars: summed client intervals)")
    return fig


def calibration(curve: pl.DataFrame):
    """Observed churn rate against mean predicted risk per bin, held-out period."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for model in curve["model"].unique().sort():
        d = curve.filter(pl.col("model") == model)
        ax.plot(d["mean_predicted"], d["observed_rate"], marker="o", label=model)
    top = float(max(curve["mean_predicted"].max() or 0.1, curve["observed_rate"].max() or 0.1))
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("mean predicted 30-day churn risk")
    ax.set_ylabel("observed churn rate")
    ax.set_title("Calibration on the held-out month")
    ax.legend(fontsize=8)
    return fig


def transition_flows(transitions: pl.DataFrame):
    """The latest month's flow matrix: clients from each segment (rows) to each (columns)."""
    plt = pyplot()
    last = transitions.filter(pl.col("to_snapshot") == pl.col("to_snapshot").max())
    wide = last.pivot(on="to_segment", index="from_segment", values="clients",
                      sort_columns=True).sort("from_segment").fill_null(0)
    rows = wide["from_segment"].to_list()
    cols = [c for c in wide.columns if c != "from_segment"]
    m = wide.select(cols).to_numpy().astype(float)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=8)
    span = f"{last['from_snapshot'].min()} -> {last['to_snapshot'].max()}" if last.height else ""
    ax.set_title(f"Client health transitions {span}")
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    return fig
