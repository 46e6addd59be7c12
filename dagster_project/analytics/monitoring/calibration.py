"""Scores on one scale: every detector's raw output becomes ``1 - tail probability``.

- Robust baseline: ``score = 1 - 2·Φ(-|z|)``, the two-sided normal tail of the robust z
  (calibrated when the log-scale residuals are roughly normal).
- Isolation Forest and autoencoder: the empirical tail of the training scores,
  ``p = (1 + #{train >= s}) / (n + 1)`` (the conformal p-value; Vovk et al. 2005), so a
  score of 0.999 means "higher than 99.9 % of the history it was trained on".
- Combined: the Bonferroni bound on the smallest tail probability of ``m`` detectors,
  ``p = min(1, m · min_i p_i)``, valid under any dependence between them (they share inputs).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr


def gaussian_score(z: np.ndarray) -> np.ndarray:
    """``1 - 2·Φ(-|z|)`` (NaN stays NaN)."""
    z = np.asarray(z, dtype=float)
    return 1.0 - 2.0 * ndtr(-np.abs(z))


def empirical_score(train: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``1 - (1 + #{train >= s}) / (n + 1)`` for each ``s`` in ``scores``."""
    train = np.sort(np.asarray(train, dtype=float))
    if train.size == 0:
        raise ValueError("train must hold at least one training score")
    above = train.size - np.searchsorted(train, np.asarray(scores, dtype=float), side="left")
    return 1.0 - (1.0 + above) / (train.size + 1.0)


def combine_scores(scores: np.ndarray) -> np.ndarray:
    """Row-wise Bonferroni combination of an (n, m) array of scores (NaN: detector absent,
    not counted in m); NaN where every detector is absent."""
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    m = np.sum(~np.isnan(scores), axis=1)
    p_min = np.min(np.where(np.isnan(scores), 1.0, 1.0 - scores), axis=1)
    p = np.minimum(1.0, m * p_min)
    return np.where(m > 0, 1.0 - p, np.nan)
