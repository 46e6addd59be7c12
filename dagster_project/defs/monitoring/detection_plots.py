"""Pictures for the detection asset: each detector's view of the most-flagged series."""

from __future__ import annotations

import numpy as np
import polars as pl

from dagster_project.plots import plt as pyplot


def baseline_band(base: pl.DataFrame, flags: pl.DataFrame, title: str, z_threshold: float):
    """The series, its robust baseline and the band ``expected ± z_threshold·scale`` (back on
    the value scale), with the flagged points."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ok = base.filter(pl.col("expected").is_not_null())
    ey = np.log1p(ok["expected"].to_numpy())
    width = z_threshold * ok["scale"].to_numpy()
    ax.plot(base["ts"].to_list(), base["value"].to_numpy(), lw=0.7, label="value")
    ax.plot(ok["ts"].to_list(), ok["expected"].to_numpy(), lw=0.7, label="expected")
    ax.fill_between(ok["ts"].to_list(), np.expm1(ey - width), np.expm1(ey + width), alpha=0.25,
                    label=f"±{z_threshold:g} robust sd")
    ax.scatter(flags["ts"].to_list(), flags["value"].to_numpy(), color="red", s=12, zorder=3,
               label="flagged")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def model_scores(scores: pl.DataFrame, flags: pl.DataFrame, detector: str, title: str,
                 tail: float):
    """``-log10`` of the calibrated tail probability of ``detector`` over time, the flagging
    line and the flagged points."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.2))
    tail_of = lambda s: -np.log10(np.clip(1.0 - s, 1e-300, 1.0))
    ax.plot(scores["ts"].to_list(), tail_of(scores[detector].to_numpy()), lw=0.6, label=detector)
    ax.axhline(-np.log10(tail), color="grey", ls="--", lw=0.8, label=f"tail = {tail:g}")
    ax.scatter(flags["ts"].to_list(), tail_of(flags["score"].to_numpy()), color="red", s=12,
               zorder=3, label="flagged")
    ax.set_ylabel("-log10 tail probability")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    return fig
