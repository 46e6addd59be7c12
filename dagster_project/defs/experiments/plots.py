"""The monitor plot: fixed and always-valid intervals of the primary metric's lift per day."""

from __future__ import annotations

import math

import polars as pl

from dagster_project.plots import plt as pyplot


def monitor_figure(df: pl.DataFrame):
    plt = pyplot()

    panels = df.select("experiment_id", "variant").unique(maintain_order=True).rows()
    cols = min(3, max(len(panels), 1))
    rows = max(math.ceil(len(panels) / cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, (exp, variant) in zip(axes.flat, panels):
        d = df.filter(pl.col("experiment_id") == exp, pl.col("variant") == variant)
        x = d["date_day"].to_list()
        ax.fill_between(x, d["seq_ci_low"].to_numpy(), d["seq_ci_high"].to_numpy(), alpha=0.25,
                        label="always-valid")
        ax.fill_between(x, d["abs_ci_low"].to_numpy(), d["abs_ci_high"].to_numpy(), alpha=0.35,
                        label="fixed")
        ax.plot(x, d["abs_lift"].to_numpy(), color="black", lw=1)
        ax.axhline(0, color="grey", lw=0.8)
        lo, hi = d["abs_ci_low"].min(), d["abs_ci_high"].max()
        if lo is not None and hi is not None:
            pad = (hi - lo) or 1.0
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(f"{exp} {variant} ({d['metric'][0] if d.height else ''})", fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if panels:
        axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
