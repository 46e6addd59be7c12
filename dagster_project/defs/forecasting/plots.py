"""Fan charts for the forecasting assets' metadata."""

from __future__ import annotations

import polars as pl

from dagster_project.analytics.forecasting import Panel
from dagster_project.plots import plt as pyplot


def fan_chart(panel: Panel, forecast: pl.DataFrame, series: list[str], title: str,
              history_days: int = 90):
    """For each of ``series``: its last ``history_days`` in the panel (gaps filled by the
    panel's rule) and the forecast with its bands, widest level lightest."""
    plt = pyplot()
    fig, axes = plt.subplots(len(series), 1, figsize=(8, 2.4 * len(series)), squeeze=False)
    levels = sorted(forecast["level"].drop_nulls().unique().to_list(), reverse=True)
    dates = panel.dates()[-history_days:]
    for ax, sid in zip(axes[:, 0], series):
        ax.plot(dates, panel.values[panel.ids.index(sid), -history_days:], color="black",
                lw=0.8, label="actual")
        f = forecast.filter((pl.col("series_id") == sid) & (pl.col("status") == "ok"))
        for alpha, level in zip((0.2, 0.4, 0.6), levels):
            band = f.filter(pl.col("level") == level).sort("forecast_date")
            ax.fill_between(band["forecast_date"].to_list(), band["lower"].to_numpy(),
                            band["upper"].to_numpy(), alpha=alpha, color="tab:blue",
                            lw=0, label=f"{level:.0%} interval")
        point = f.filter(pl.col("level") == levels[0]).sort("forecast_date") if levels else f
        ax.plot(point["forecast_date"].to_list(), point["forecast"].to_numpy(),
                color="tab:blue", lw=1.2, label="forecast")
        ax.set_title(sid, fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def capacity_chart(history: pl.DataFrame, capacity: pl.DataFrame):
    """Each resource's history, its forecast at 30/60/90 days with the widest interval, and
    its threshold."""
    plt = pyplot()
    resources = capacity["resource"].unique().sort().to_list()
    fig, axes = plt.subplots(len(resources), 1, figsize=(8, 2.2 * len(resources)),
                             squeeze=False)
    for ax, r in zip(axes[:, 0], resources):
        h = history.filter(pl.col("series_id") == r).sort("day")
        ax.plot(h["day"].to_list(), h["value"].to_numpy(), color="black", lw=0.8)
        c = capacity.filter(pl.col("resource") == r)
        wide = c.filter(pl.col("level") == c["level"].max()).sort("horizon_days")
        ax.errorbar(wide["forecast_date"].to_list(), wide["forecast"].to_numpy(),
                    yerr=[(wide["forecast"] - wide["lower"]).fill_null(0).to_numpy(),
                          (wide["upper"] - wide["forecast"]).fill_null(0).to_numpy()],
                    fmt="o", color="tab:blue", capsize=3)
        if c.height:
            ax.axhline(c["threshold"][0], color="tab:red", lw=0.8, ls="--")
        ax.set_title(r, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig
