"""Pictures for the pricing assets' metadata."""

from __future__ import annotations

import numpy as np
import polars as pl

from dagster_project.plots import plt as pyplot


def elasticity_intervals(table: pl.DataFrame):
    """Each tier's estimates with their 95% intervals, per method, against -1."""
    plt = pyplot()
    ok = table.filter(pl.col("status") == "ok")
    tiers = sorted(table["tier"].unique().to_list())
    methods = ["observational", "experiment", "combined", "dml"]
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.9 * len(tiers)))
    for m, method in enumerate(methods):
        rows = ok.filter(pl.col("method") == method)
        y = np.array([tiers.index(t) for t in rows["tier"]]) + (m - 1.5) * 0.18
        est = rows["estimate"].to_numpy()
        err = np.vstack([est - rows["ci_lower"].to_numpy(), rows["ci_upper"].to_numpy() - est])
        ax.errorbar(est, y, xerr=err, fmt="o", capsize=3, label=method)
    ax.axvline(-1, color="grey", ls="--", lw=1)
    ax.set_yticks(range(len(tiers)), tiers)
    ax.set_xlabel("elasticity of sign-ups to the shown price (95% interval)")
    ax.legend(fontsize=8, loc="best")
    return fig


def holdout_forecasts(holdout: pl.DataFrame):
    """Held-out weekly sign-ups per tier: actual, LightGBM, baseline."""
    plt = pyplot()
    tiers = sorted(holdout["tier"].unique().to_list())
    fig, axes = plt.subplots(1, max(len(tiers), 1), figsize=(3 * max(len(tiers), 1), 2.8),
                             squeeze=False)
    for ax, tier in zip(axes[0], tiers):
        t = holdout.filter(pl.col("tier") == tier)
        x = np.arange(t.height)
        ax.plot(x, t["signups"].to_numpy(), "ko-", label="actual")
        ax.plot(x, t["model"].to_numpy(), "s-", label="LightGBM")
        ax.plot(x, t["baseline"].fill_null(np.nan).to_numpy(), "^-", label="baseline")
        ax.set_title(tier)
        ax.set_xlabel("held-out week")
    axes[0][0].set_ylabel("sign-ups")
    axes[0][0].legend(fontsize=7)
    return fig


def revenue_curves(simulations: pl.DataFrame):
    """Expected change in new MRR over the horizon against the list price change, per tier."""
    plt = pyplot()
    ok = simulations.filter(pl.col("status") == "ok")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for tier in sorted(ok["tier"].unique().to_list()):
        t = ok.filter(pl.col("tier") == tier).sort("price_change")
        x = t["price_change"].to_numpy() * 100
        line, = ax.plot(x, t["expected_revenue_change"].to_numpy(), "o-", label=tier)
        ax.fill_between(x, t["revenue_change_ci_lower"].to_numpy(),
                        t["revenue_change_ci_upper"].to_numpy(), color=line.get_color(), alpha=0.15)
    ax.axhline(0, color="grey", lw=1)
    ax.set_xlabel("list price change (%)")
    ax.set_ylabel("change in new MRR over the horizon")
    if ok.height:
        ax.legend(fontsize=8)
    return fig
