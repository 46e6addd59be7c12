"""Sample-ratio mismatch: are the arms as large as the planned weights say?"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from .readout import variant_weights


def srm_chi2(counts, weights, group=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson chi-square of arm counts against planned weights, per group of arms.

    ``counts``, ``weights`` and ``group`` are flat arrays, one entry per arm (``group``: the
    experiment; None = one experiment). Within a group ``X^2 = sum_i (n_i - N w_i)^2 / (N w_i)``
    with ``w`` normalised to sum 1 and ``N`` the group's units, on ``k - 1`` degrees of freedom
    for the ``k`` arms of positive weight (scipy ``chisquare``; gbstats ``check_srm``).
    Returns (group labels in sorted order, statistic, p-value); the p-value is NaN for a group
    without units or with fewer than two weighted arms."""
    counts, weights = np.asarray(counts, dtype=float), np.asarray(weights, dtype=float)
    if np.any(weights < 0) or np.any(~np.isfinite(weights)):
        raise ValueError("weights: arm weights must be finite and >= 0")
    if np.any(counts < 0) or np.any(~np.isfinite(counts)):
        raise ValueError("counts: arm counts must be finite and >= 0")
    labels, code = np.unique(np.zeros(counts.size) if group is None else np.asarray(group),
                             return_inverse=True)
    code = code.ravel()
    total = np.bincount(code, counts, labels.size)[code]
    w = weights / np.bincount(code, weights, labels.size)[code]
    expected = total * w
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(expected > 0, (counts - expected) ** 2 / expected, 0.0)
    stat = np.bincount(code, terms, labels.size)
    k = np.bincount(code, weights > 0, labels.size)
    n = np.bincount(code, counts, labels.size)
    p = np.where((n > 0) & (k >= 2), stats.chi2.sf(stat, np.maximum(k - 1, 1)), np.nan)
    return labels, np.where(np.isnan(p), np.nan, stat), p


def srm(counts: pl.DataFrame, registry: pl.DataFrame, threshold: float = 0.001) -> pl.DataFrame:
    """Per experiment: :func:`srm_chi2` of arm counts against the planned weights
    (``srm_chi2``, ``srm_p_value``) and ``srm_flag`` (p < threshold). A registered arm without
    data counts 0 units; units in variants that are not registered are not counted (the results
    report them as ``unknown_variant``). Null p-value (and no flag) when the experiment has no
    units, or when the primary metric is ``signups`` (not applicable: there the arm sizes are the
    outcome; ``srm_applicable`` false)."""
    w = variant_weights(registry).join(counts.select("experiment_id", "variant", "n"),
                                       on=["experiment_id", "variant"], how="left")
    w = w.with_columns(pl.col("n").cast(pl.Float64).fill_null(0.0)).filter(
        pl.col("weight").is_not_null() & (pl.col("weight") >= 0))
    labels, stat, p = srm_chi2(w["n"].to_numpy(), w["weight"].to_numpy(),
                               w["experiment_id"].to_numpy())
    out = pl.DataFrame({"experiment_id": labels.astype(str), "srm_chi2": stat,
                        "srm_p_value": p}, schema_overrides={"experiment_id": pl.String})
    applicable = pl.col("primary_metric") != "signups"
    return (registry.select("experiment_id", "primary_metric")
            .join(out, on="experiment_id", how="left")
            .with_columns(pl.col("srm_chi2", "srm_p_value").fill_nan(None))
            .select("experiment_id", srm_applicable=applicable,
                    srm_chi2=pl.when(applicable).then("srm_chi2"),
                    srm_p_value=pl.when(applicable).then("srm_p_value"),
                    srm_flag=(applicable & (pl.col("srm_p_value") < threshold)).fill_null(False)))
