"""Isolation Forest over the system-metric vectors (scikit-learn), scores calibrated on history.

Liu, Ting & Zhou (2008): points isolated by few random splits are anomalous; the raw score is
``-IsolationForest.score_samples`` (higher = more anomalous), turned into ``1 - empirical tail
probability`` against the training scores (``calibration.empirical_score``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import IsolationForest

from .calibration import empirical_score


@dataclass
class IsolationModel:
    forest: IsolationForest
    train_scores: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, seed: int, n_estimators: int = 100) -> IsolationModel:
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError("x must be a 2-d array with at least 2 rows")
        forest = IsolationForest(n_estimators=n_estimators, max_samples=min(256, x.shape[0]),
                                 random_state=seed).fit(x)
        return cls(forest, -forest.score_samples(x))

    def raw(self, x: np.ndarray) -> np.ndarray:
        return -self.forest.score_samples(x)

    def score(self, x: np.ndarray) -> np.ndarray:
        """Calibrated scores in [0, 1] of the rows of ``x``."""
        return empirical_score(self.train_scores, self.raw(x))
