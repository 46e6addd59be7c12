"""OLS with absorbed group fixed effects and cluster-robust standard errors.

Model: y_it = a_i + x_it' b + e_it, a_i one intercept per group i (client). The within
estimator (Frisch-Waugh-Lovell): every column of y and X is demeaned per group and b is the OLS
fit of the demeaned y on the demeaned X, identical to OLS with one dummy per group. Other
categorical controls (weeks, platform x hour) enter X as dummies and are demeaned the same way,
which gives the two-way estimator exactly on unbalanced panels. Standard errors are clustered
by group (Liang & Zeger 1986; Cameron & Miller 2015) with the small-sample factor
G / (G - 1) x (N - 1) / (N - k) of Stata's ``xtreg, fe vce(cluster)`` (k counts the
regressors, not the absorbed means, since groups are nested in the clusters), and intervals use
t with G - 1 degrees of freedom. Columns that do not vary within any group are dropped (their
coefficient is not identified) and reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class FixedEffectsFit:
    names: list[str]  # identified regressors, in the order of the estimates
    estimate: np.ndarray
    std_error: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    n_obs: int
    n_groups: int
    dropped: list[str]  # regressors without within-group variation


def demean(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Columns of ``values`` (n, k) minus their group means (groups: integer codes 0..G-1)."""
    values = np.asarray(values, dtype=float)
    counts = np.bincount(groups)
    out = np.empty_like(values)
    for j in range(values.shape[1]):  # columns, not rows
        means = np.bincount(groups, weights=values[:, j]) / np.maximum(counts, 1)
        out[:, j] = values[:, j] - means[groups]
    return out


def fit_within(y: np.ndarray, X: np.ndarray, groups: np.ndarray, names: list[str],
               level: float = 0.95, controls: np.ndarray | None = None) -> FixedEffectsFit:
    """Fit y on X (and ``controls``, partialled out and not reported) with fixed effects of
    ``groups`` (any hashable codes) and clustered errors.

    With controls the reported block is computed by Frisch-Waugh-Lovell: y and X are
    residualized on the demeaned controls (normal equations with a pseudo-inverse, so collinear
    controls are harmless) and regressed on each other; coefficients, residuals and the clustered
    covariance of the block equal the full regression's, and k counts the controls too."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    C = np.zeros((len(y), 0)) if controls is None else np.asarray(controls, dtype=float).reshape(len(y), -1)
    if X.shape[1] != len(names):
        raise ValueError(f"names: {len(names)} names for {X.shape[1]} columns")
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    Z = demean(np.column_stack([y, X, C]), codes)
    varies = _varies(np.column_stack([X, C]), Z[:, 1:])
    keep = [i for i in range(X.shape[1]) if varies[i]]
    yd, Xd, Cd = Z[:, 0], Z[:, 1:][:, keep], Z[:, 1 + X.shape[1]:][:, varies[X.shape[1]:]]
    n, k, G = len(y), len(keep) + Cd.shape[1], int(codes.max()) + 1 if len(y) else 0
    dropped = [names[i] for i in range(len(names)) if i not in keep]
    if not keep or G < 2 or n <= k + G:
        nan = np.full(len(keep), np.nan)
        return FixedEffectsFit([names[i] for i in keep], nan, nan, nan, nan, nan, n, G, dropped)
    if Cd.shape[1]:
        YX = np.column_stack([yd, Xd])
        YX = YX - Cd @ (np.linalg.pinv(Cd.T @ Cd) @ (Cd.T @ YX))
        yd, Xd = YX[:, 0], YX[:, 1:]
    bread = np.linalg.pinv(Xd.T @ Xd)
    beta = bread @ (Xd.T @ yd)
    resid = yd - Xd @ beta
    scores = np.column_stack([np.bincount(codes, weights=Xd[:, j] * resid, minlength=G)
                              for j in range(Xd.shape[1])])  # per cluster, per regressor
    factor = G / (G - 1) * (n - 1) / (n - k)
    se = np.sqrt(np.maximum(np.diag(bread @ (scores.T @ scores) @ bread) * factor, 0))
    tcrit = stats.t.ppf(0.5 + level / 2, G - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * stats.t.sf(np.abs(beta / se), G - 1), np.nan)
    return FixedEffectsFit([names[i] for i in keep], beta, se, beta - tcrit * se, beta + tcrit * se,
                           p, n, G, dropped)


def _varies(raw: np.ndarray, demeaned: np.ndarray) -> np.ndarray:
    """Columns with within-group variation (relative to their scale)."""
    if not len(raw):
        return np.zeros(raw.shape[1], dtype=bool)
    return np.abs(demeaned).max(axis=0) > 1e-9 * np.maximum(np.abs(raw).max(axis=0), 1)


def dummies(codes: np.ndarray, prefix: str) -> tuple[np.ndarray, list[str]]:
    """Indicator columns of a categorical array, the most common level left out (reference)."""
    levels, inv, counts = np.unique(np.asarray(codes), return_inverse=True, return_counts=True)
    ref = int(np.argmax(counts))
    cols = [j for j in range(len(levels)) if j != ref]
    M = (inv[:, None] == np.array(cols)[None, :]).astype(float)
    return M, [f"{prefix}={levels[j]}" for j in cols]
