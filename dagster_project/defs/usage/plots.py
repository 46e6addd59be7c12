"""Plots attached to the usage assets' metadata (matplotlib figures)."""

from dagster_project.plots import plt as pyplot

plt = pyplot()
import polars as pl


def revenue_by_platform(summary: pl.DataFrame):
    totals = summary.group_by("platform").agg(pl.col("attributed_revenue").sum()).sort("platform")
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(totals["platform"].to_list(), totals["attributed_revenue"].to_list())
    ax.set_ylabel("attributed revenue (USD)")
    ax.set_title("Revenue credited to each platform, all clients")
    return fig


def adoption_curves(curves: pl.DataFrame):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for (feature,), g in curves.filter(pl.col("status") == "ok").partition_by("feature_name", as_dict=True).items():
        ax.step(g["day"].to_list(), g["adopted_share"].to_list(), where="post", label=feature)
    ax.set_xlabel("days since sign-up")
    ax.set_ylabel("share adopted (Kaplan-Meier)")
    ax.legend(fontsize=6, ncol=2)
    return fig


def feature_effects(effects: pl.DataFrame):
    ok = effects.filter(pl.col("status") == "ok")
    labels = (ok["feature"] + " / " + ok["outcome"]).to_list()
    fig, ax = plt.subplots(figsize=(6, 0.3 * max(len(labels), 3) + 1))
    y = list(range(len(labels)))
    lift, lo, hi = (ok[c].to_numpy() for c in ("lift", "lift_low", "lift_high"))
    ax.errorbar(lift, y, xerr=[lift - lo, hi - lift], fmt="o")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("relative lift (95% interval)")
    return fig


def hour_profiles(profiles: pl.DataFrame):
    by_platform = profiles.filter(pl.col("status") == "ok").group_by("platform", "hour").agg(
        ((pl.col("effect") * pl.col("posts")).sum() / pl.col("posts").sum()).exp().sub(1).alias("lift")).sort("hour")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for (platform,), g in by_platform.partition_by("platform", as_dict=True).items():
        ax.plot(g["hour"].to_list(), g["lift"].to_list(), marker=".", label=platform)
    ax.set_xlabel("publish hour (UTC)")
    ax.set_ylabel("lift in engagements per post")
    ax.legend(fontsize=7)
    return fig
