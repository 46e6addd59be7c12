"""Maximum likelihood (and penalized, per-group) fitting shared by BG/NBD and Gamma-Gamma.

A model supplies ``loglik(theta, groups, data) -> (ll, grad)``: the log-likelihood of each
customer and its gradient with respect to the LOG parameters (one array per parameter), given the natural parameters of
every group ``theta`` (``(G, k)``) and each customer's group (so that terms depending on a
group's parameters and a few distinct data values are computed once per pair). :func:`fit_groups` maximizes, for every group ``g`` at once,

    sum_{i in g} w_i ll_i(theta_g)  -  (1/2) (phi_g - mu)' P (phi_g - mu),   phi = log theta,

the second term a Gaussian prior on the log parameters (absent for a plain maximum-likelihood
fit). Groups are independent, so the joint problem is separable and one L-BFGS-B run over the
stacked ``(G, k)`` log parameters solves them all; each evaluation is one vectorized pass over
the customers with per-group sums by ``np.bincount``. Log parameters live in
``[-LOG_BOUND, LOG_BOUND]``, so every evaluation stays finite.

Optimizer tolerance: the objective is divided by the total weight (mean log-likelihood per
customer); L-BFGS-B stops when the largest projected-gradient component is below ``GTOL``
(1e-9) or the relative decrease of the objective falls below ``FTOL`` (1e-15), at most
``MAX_ITER`` iterations. A group is *converged* when its own gradient block, scaled the same
way, is below ``CONVERGED_GTOL`` (1e-6) and its objective is finite.

Covariance: the inverse of the observed information (the Hessian of the penalized negative
log-likelihood in log parameters), obtained per group by central differences of the analytic
gradient (2k extra gradient evaluations for all groups together); null (NaN) where the Hessian
is not positive definite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import optimize
from threadpoolctl import threadpool_limits

LOG_BOUND = 20.0
GTOL = 1e-9
FTOL = 1e-15
MAX_ITER = 2000
CONVERGED_GTOL = 1e-6
HESSIAN_STEP = 1e-5

LogLik = Callable[[np.ndarray, np.ndarray, dict[str, np.ndarray]],
                  tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class GroupFit:
    """Estimates per group (rows) of ``k`` natural parameters (columns)."""

    params: np.ndarray  # (G, k)
    log_likelihood: np.ndarray  # (G,) data log-likelihood at the estimate (prior excluded)
    converged: np.ndarray  # (G,) bool
    covariance: np.ndarray  # (G, k, k) of the log parameters; NaN where not positive definite
    iterations: int
    message: str


def fit_groups(
    loglik: LogLik,
    data: dict[str, np.ndarray],
    start: np.ndarray,
    groups: np.ndarray | None = None,
    n_groups: int = 1,
    weights: np.ndarray | None = None,
    prior_mean: np.ndarray | None = None,
    prior_precision: np.ndarray | None = None,
) -> GroupFit:
    """Maximize each group's (penalized) log-likelihood; see the module docstring.

    ``data``: arrays of one value per customer; ``groups``: each customer's group in
    ``0..n_groups-1`` (all in group 0 when None); ``start``: natural parameters ``(k,)`` or
    ``(G, k)``; ``prior_mean`` ``(G, k)`` or ``(k,)`` log parameters and ``prior_precision``
    ``(G, k, k)`` or ``(k, k)`` (both or neither)."""
    n = len(next(iter(data.values())))
    groups = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if (prior_mean is None) != (prior_precision is None):
        raise ValueError("prior_mean and prior_precision must be given together")
    if n_groups < 1 or (n and (groups.min() < 0 or groups.max() >= n_groups)):
        raise ValueError(f"groups must lie in 0..n_groups-1 (n_groups={n_groups})")
    k = np.shape(start)[-1]
    phi0 = np.log(np.broadcast_to(np.asarray(start, dtype=float), (n_groups, k))).copy()
    mu = None if prior_mean is None else np.broadcast_to(prior_mean, (n_groups, k))
    prec = None if prior_precision is None else np.broadcast_to(prior_precision, (n_groups, k, k))
    scale = max(float(weights.sum()), 1.0)

    def penalized(phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-group objective (negative penalized log-likelihood) and its gradient."""
        ll, grad = loglik(np.exp(phi), groups, data)
        obj = -group_sum(ll, groups, weights, n_groups)
        g = -np.stack([group_sum(d, groups, weights, n_groups) for d in grad], axis=1)
        if mu is not None:
            d = phi - mu
            pd_ = np.einsum("gij,gj->gi", prec, d)
            obj = obj + 0.5 * np.einsum("gi,gi->g", d, pd_)
            g = g + pd_
        return obj, g

    def total(flat: np.ndarray) -> tuple[float, np.ndarray]:
        obj, g = penalized(flat.reshape(n_groups, k))
        return float(obj.sum() / scale), g.ravel() / scale

    # one BLAS thread: the per-group sums are memory-bound dot products, and threads that
    # wait for a core shared with other processes cost more than they save (bench_customers)
    with threadpool_limits(1, user_api="blas"):
        result = optimize.minimize(
            total, phi0.ravel(), jac=True, method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * (n_groups * k),
            options={"maxiter": MAX_ITER, "gtol": GTOL, "ftol": FTOL, "maxcor": 20})
        phi = result.x.reshape(n_groups, k)
        obj, g = penalized(phi)
        covariance = _covariance(lambda p: penalized(p)[1], phi)
        ll_data = group_sum(loglik(np.exp(phi), groups, data)[0], groups, weights, n_groups)
    at_bound = np.abs(phi) >= LOG_BOUND - 1e-9
    g_free = np.where(at_bound, 0.0, g)
    converged = np.isfinite(obj) & (np.abs(g_free / scale).max(axis=1) < CONVERGED_GTOL)
    return GroupFit(
        params=np.exp(phi),
        log_likelihood=ll_data,
        converged=converged & ~at_bound.any(axis=1),
        covariance=covariance,
        iterations=int(result.nit),
        message=str(result.message),
    )


def group_sum(values: np.ndarray, groups: np.ndarray, weights: np.ndarray,
              n_groups: int) -> np.ndarray:
    """Weighted sum of ``values`` per group (a dot product when there is one group)."""
    if n_groups == 1:
        return np.array([weights @ values])
    return np.bincount(groups, weights * values, minlength=n_groups)


def group_params(theta: np.ndarray, groups: np.ndarray, j: int) -> np.ndarray | float:
    """Parameter ``j`` of each customer's group (a scalar when there is one group)."""
    return float(theta[0, j]) if len(theta) == 1 else theta[groups, j]


def _covariance(gradient: Callable[[np.ndarray], np.ndarray], phi: np.ndarray) -> np.ndarray:
    """Inverse Hessian per group by central differences of the (separable) gradient."""
    n_groups, k = phi.shape
    hess = np.empty((n_groups, k, k))
    for j in range(k):  # one perturbation of parameter j for every group at once
        step = np.zeros_like(phi)
        step[:, j] = HESSIAN_STEP
        hess[:, :, j] = (gradient(phi + step) - gradient(phi - step)) / (2 * HESSIAN_STEP)
    hess = 0.5 * (hess + hess.transpose(0, 2, 1))
    cov = np.full_like(hess, np.nan)
    finite = np.isfinite(hess).all(axis=(1, 2))
    eig = np.full((n_groups, k), -1.0)
    eig[finite] = np.linalg.eigvalsh(hess[finite])
    ok = finite & (eig.min(axis=1) > 0)
    cov[ok] = np.linalg.inv(hess[ok])
    return cov


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the stacked columns, sorted, and the count of each: an exact
    compression for likelihoods that depend on the data only through these columns (many
    customers share a summary). Sorted, so sums over them never depend on the input order."""
    names = [f"c{j}" for j in range(len(columns))]
    frame = pl.DataFrame({n: np.asarray(c, dtype=float) for n, c in zip(names, columns)})
    distinct = frame.group_by(names).len().sort(names)
    return [distinct[n].to_numpy() for n in names], distinct["len"].to_numpy().astype(float)


def distinct_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the stacked columns (in order of first appearance) and, for every input row,
    the index of its distinct row: ``[u[inverse] for u in distinct]`` gives the columns back.
    For computations that depend on a customer only through these columns, done once per
    distinct row (a hash join: linear time, unlike a sort)."""
    names = [f"c{j}" for j in range(len(columns))]
    frame = pl.DataFrame({n: np.asarray(c, dtype=float) for n, c in zip(names, columns)})
    distinct = frame.unique(maintain_order=True).with_row_index("row")
    inverse = frame.join(distinct, on=names, how="left", maintain_order="left")["row"]
    return [distinct[n].to_numpy() for n in names], inverse.to_numpy().astype(np.int64)
