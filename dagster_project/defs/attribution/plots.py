"""Pictures for the attribution assets' metadata."""

from __future__ import annotations

import polars as pl

from dagster_project.plots import plt as pyplot


def pooled_shares(attribution: pl.DataFrame) -> pl.DataFrame:
    """Channel share of all clients' conversions per model (channels as rows, models as columns)."""
    pooled = attribution.group_by("attribution_model", "channel").agg(
        pl.col("attributed_conversions").sum())
    pooled = pooled.with_columns(
        (pl.col("attributed_conversions") / pl.col("attributed_conversions").sum()
         .over("attribution_model")).alias("share"))
    return pooled.pivot(on="attribution_model", index="channel", values="share").fill_null(0.0) \
        .sort("channel")


def channel_credit_chart(shares: pl.DataFrame, models: list[str]):
    """Grouped bars: each channel's share of conversions under each model."""
    plt = pyplot()
    import numpy as np

    channels = shares["channel"].to_list()
    models = [m for m in models if m in shares.columns]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(len(models), 1)
    x = np.arange(len(channels))
    for i, m in enumerate(models):
        ax.bar(x + i * width, shares[m].to_numpy(), width, label=m)
    ax.set_xticks(x + 0.4 - width / 2, channels, rotation=30, ha="right")
    ax.set_ylabel("share of conversions (all clients)")
    ax.set_title("Channel credit per attribution model")
    ax.legend(ncol=4, fontsize=8)
    return fig
