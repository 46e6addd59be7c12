"""Sample-ratio mismatch: are the arms as large as the planned weights say?"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from .estimates import _a
from .readout import variant_weights


def srm_chi2(counts: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample-ratio-mismatch test: Pearson chi-square of arm counts against planned weights.

    ``counts`` and ``weights`` are (experiments x arms) arrays (pad missing arms with weight 0
    and count 0); ``X^2 = sum_i (n_i - N w_i)^2 / (N w_i)`` on ``k - 1`` degrees of freedom, k the
    number of arms with positive weight. Returns (statistic, p-value)."""
    counts, weights = _a(counts), _a(weights)
    total = counts.sum(axis=-1, keepdims=True)
    w = weights / weights.sum(axis=-1, keepdims=True)
    expected = total * w
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(expected > 0, (counts - expected) ** 2 / expected, 0.0)
    stat = terms.sum(axis=-1)
    k = (weights > 0).sum(axis=-1)
    return stat, stats.chi2.sf(stat, np.maximum(k - 1, 1))


def srm(counts: pl.DataFrame, registry: pl.DataFrame, threshold: float = 0.001) -> pl.DataFrame:
    """Per experiment: chi-square of arm counts against the planned weights (``srm_p_value``) and
    ``srm_flag`` (p < threshold). Not applicable (p = 1, no flag) when the primary metric is
    ``signups``: there the arm sizes are the outcome."""
    w = variant_weights(registry).join(counts.select("experiment_id", "variant", "n"),
                                       on=["experiment_id", "variant"], how="left")
    w = w.with_columns(pl.col("n").fill_null(0).cast(pl.Float64))
    total = pl.col("n").sum().over("experiment_id")
    expected = total * pl.col("weight") / pl.col("weight").sum().over("experiment_id")
    out = (w.with_columns(_t=pl.when(expected > 0).then((pl.col("n") - expected) ** 2 / expected)
                          .otherwise(0.0))
           .group_by("experiment_id", maintain_order=True)
           .agg(srm_chi2=pl.col("_t").sum(), _k=(pl.col("weight") > 0).sum()))
    p = stats.chi2.sf(out["srm_chi2"].to_numpy(), np.maximum(out["_k"].to_numpy() - 1, 1))
    out = out.drop("_k").with_columns(srm_p_value=p).join(
        registry.select("experiment_id", "primary_metric"), on="experiment_id")
    applicable = pl.col("primary_metric") != "signups"
    return out.select(
        "experiment_id", srm_applicable=applicable,
        srm_chi2=pl.when(applicable).then("srm_chi2").otherwise(0.0),
        srm_p_value=pl.when(applicable).then("srm_p_value").otherwise(1.0),
        srm_flag=applicable & (pl.col("srm_p_value") < threshold))
