"""The picture for the insights asset's metadata."""

from __future__ import annotations

import numpy as np
import polars as pl

from dagster_project.plots import plt as pyplot

LEVELS = ("high", "medium", "low")


def insight_mix(insights: pl.DataFrame):
    """Insights per kind, stacked by impact level (all clients)."""
    plt = pyplot()

    counts = insights.group_by("insight_kind", "impact_level").len().pivot(
        on="impact_level", index="insight_kind", values="len").fill_null(0).sort("insight_kind")
    kinds = counts["insight_kind"].to_list()
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.35 * len(kinds)))
    left = np.zeros(len(kinds))
    for level in LEVELS:
        if level in counts.columns:
            values = counts[level].to_numpy().astype(float)
            ax.barh(kinds, values, left=left, label=level)
            left += values
    ax.set_xlabel("insights (all clients)")
    ax.set_title("Insights per kind, by impact level")
    ax.legend(title="impact", fontsize=8)
    return fig
