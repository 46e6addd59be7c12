"""BG/NBD: the beta-geometric / negative binomial model of repeat purchasing.

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2). While alive a customer buys as a Poisson process
with rate lambda ~ Gamma(r, alpha) (shape r, rate alpha); after every repeat purchase it drops
out with probability p ~ Beta(a, b). A customer is summarised by x (repeat purchases: orders
after the first), t_x (time of the last purchase, from the first) and T (time from the first
purchase to the end of the observation), all in one time unit.

Log-likelihood of one customer (eq. 6 of the paper, in logs):

    ll = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b)
         + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]

The last term is a log-sum-exp of two logs, so it stays finite for any x, t_x, T and any
parameters in the fitter's bounds; its gradient weights the two branches by their softmax
weight. Gradients are analytic (digamma of the gamma and beta terms).

Scoring (all conditional on a customer's (x, t_x, T)):

- P(alive) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))          (eq. 12)
- E[Y(t)] = (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
            2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive)                  (eq. 10)
  the expected purchases in the next ``t`` time units (scipy's ``hyp2f1``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from .fitting import GroupFit, distinct_rows, fit_groups, group_params, unique_rows

PARAMS = ("r", "alpha", "a", "b")
START = np.array([1.0, 1.0, 1.0, 1.0])


def _check(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("x (repeat purchases) must be whole numbers >= 0")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("t_x must satisfy 0 <= t_x <= T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("t_x must be 0 when x = 0 (no repeat purchase)")
    return x, t_x, T


def loglik_data(x, t_x, T, groups: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The arrays :func:`loglik` reads: the summaries, and for the terms that depend on x only
    through the gamma and beta functions, each customer's distinct (group, x) pair."""
    x, t_x, T = _check(x, t_x, T)
    g = np.zeros(len(x), dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    (pg, px), _ = unique_rows(g, x)
    pair = np.searchsorted(pg * (px.max(initial=0) + 1) + px, g * (px.max(initial=0) + 1) + x)
    return {"x": x, "t_x": t_x, "T": T, "pair": pair, "pair_g": pg.astype(np.int64), "pair_x": px}


def loglik(theta: np.ndarray, groups: np.ndarray,
           data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient in (ln r, ln alpha, ln a, ln b) (one array each), for group
    parameters ``theta`` (G, 4) and each customer's group; ``data`` from :func:`loglik_data`."""
    x, t_x, T, pair = data["x"], data["t_x"], data["T"], data["pair"]
    # gamma and beta terms, once per distinct (group, x)
    pr, pal, pa, pb = (theta[data["pair_g"], j] for j in range(4))
    px = data["pair_x"]
    const = (gammaln(pr + px) - gammaln(pr) + pr * np.log(pal) + betaln(pa, pb + px)
             - betaln(pa, pb))[pair]
    d_r_const = (digamma(pr + px) - digamma(pr) + np.log(pal))[pair]
    psi_ab = (digamma(pa + pb) - digamma(pa + pb + px))[pair]
    psi_b = (digamma(pb + px) - digamma(pb))[pair]
    r, alpha, a, b = (group_params(theta, groups, j) for j in range(4))
    rx = r + x
    repeat = x > 0
    bx1 = np.where(repeat, b + x - 1, 1.0)  # only used where x > 0
    log_big = np.log(alpha + T)
    log_tx = np.log(alpha + t_x)
    a3 = -rx * log_big
    # the mixture ln[e^a3 + e^a4] = a3 + max(d, 0) + ln(1 + e^-|d|), d = a4 - a3 (-inf if x = 0)
    d = np.where(repeat, np.log(a) - np.log(bx1) - rx * (log_tx - log_big), -np.inf)
    e = np.exp(-np.abs(d))
    mix = a3 + np.maximum(d, 0.0) + np.log1p(e)
    w = np.where(d >= 0, 1.0, e) / (1 + e)  # weight of the "dropped out at t_x" branch
    d_r = d_r_const - (1 - w) * log_big - w * log_tx
    d_alpha = r / alpha - rx * ((1 - w) / (alpha + T) + w / (alpha + t_x))
    d_a = psi_ab + w / a
    d_b = psi_ab + psi_b - w / bx1
    return const + mix, [d_r * r, d_alpha * alpha, d_a * a, d_b * b]


def fit(x, t_x, T, groups: np.ndarray | None = None, n_groups: int = 1,
        prior_mean: np.ndarray | None = None,
        prior_precision: np.ndarray | None = None) -> GroupFit:
    """Maximum-likelihood (or, with a prior on the log parameters, MAP) BG/NBD parameters
    ``(r, alpha, a, b)`` per group. Customers with identical (group, x, t_x, T) are fitted once
    with their count as weight (exact)."""
    x, t_x, T = _check(x, t_x, T)
    g = np.zeros(len(x)) if groups is None else np.asarray(groups)
    (gu, xu, txu, Tu), counts = unique_rows(g, x, t_x, T)
    gu = gu.astype(np.int64)
    return fit_groups(loglik, loglik_data(xu, txu, Tu, gu), START, gu, n_groups, counts,
                      prior_mean, prior_precision)


def p_alive(theta: np.ndarray, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T); ``theta`` is (4,) or one row per customer."""
    x, t_x, T = _check(x, t_x, T)
    r, alpha, a, b = (np.asarray(theta, dtype=float)[..., j] for j in range(4))
    repeat = x > 0
    log_odds = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)
    return expit(-log_odds)


SERIES_TERMS = 500


def hyp2f1_robust(A, B, C, z) -> np.ndarray:
    """Gauss's 2F1(A, B; C; z) for A, B, C > 0 and 0 <= z < 1: scipy's ``hyp2f1``, and where
    it is not finite (very large A, as when a fit approaches the Poisson limit r, alpha ->
    inf) the defining series sum_k (A)_k (B)_k / ((C)_k k!) z^k, whose terms are all positive
    here, summed in logs up to ``SERIES_TERMS`` terms (NaN where it has not converged by then)."""
    A, B, C, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A, B, C, z)))
    out = np.array(hyp2f1(A, B, C, z), dtype=float)
    bad = ~np.isfinite(out)
    if bad.any():
        a, b, c, zz = A[bad], B[bad], C[bad], z[bad]
        log_term = np.zeros_like(a)
        log_sum = np.zeros_like(a)
        live = np.arange(len(a))  # entries whose series has not converged yet
        for k in range(SERIES_TERMS):  # terms of the series; converged entries drop out
            log_term[live] += np.log((a[live] + k) * (b[live] + k) / ((c[live] + k) * (k + 1))
                                     * zz[live])
            log_sum[live] = np.logaddexp(log_sum[live], log_term[live])
            live = live[log_term[live] - log_sum[live] >= -37]  # terms still above 1e-16
            if not len(live):
                break
        log_sum[live] = np.nan
        out[bad] = np.exp(log_sum)
    return out


def expected_purchases(theta: np.ndarray, t, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (eq. 10); ``t`` broadcasts against the customers
    (e.g. shape (m, 1) for m horizons)."""
    x, t_x, T = _check(x, t_x, T)
    return purchases_if_alive(theta, t, x, T) * p_alive(theta, x, t_x, T)


def purchases_if_alive(theta: np.ndarray, t, x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | alive at T, x, T]: eq. 10 without its P(alive) factor,

        (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))].

    It depends on a customer only through (theta, x, T), not t_x, so the hypergeometric
    function is evaluated once per distinct (theta, x, T) and horizon: customers observed in
    whole days share a few thousand of them however many they are. ``t`` is a scalar or has a
    last axis of length 1 (horizons down the rows)."""
    growth, inverse, shape = _distinct_growth(theta, t, x, T)
    return growth[..., inverse].reshape(np.broadcast_shapes(np.shape(t), shape))


def discounted_purchases_if_alive(theta: np.ndarray, t: np.ndarray, weights: np.ndarray,
                                  x, T) -> np.ndarray:
    """sum_m weights_m (E[Y(t_m) | alive] - E[Y(t_(m-1)) | alive]), t_0 = 0, per customer:
    the discounted purchases of the periods ending at the horizons ``t`` (increasing), summed
    once per distinct (theta, x, T) before it is spread over the customers."""
    t = np.asarray(t, dtype=float).reshape(-1, 1)
    growth, inverse, shape = _distinct_growth(theta, t, x, T)
    inc = np.diff(growth, axis=0, prepend=0.0)
    return np.einsum("m,m...->...", np.asarray(weights, dtype=float), inc)[..., inverse].reshape(
        shape)


def _distinct_growth(theta, t, x, T) -> tuple[np.ndarray, np.ndarray, tuple]:
    """:func:`purchases_if_alive` on the distinct (theta, x, T); their index per customer; the
    customers' shape."""
    theta, t = np.asarray(theta, dtype=float), np.asarray(t, dtype=float)
    if t.ndim and t.shape[-1] != 1:
        raise ValueError(f"t must be a scalar or have a last axis of length 1, got shape {t.shape}")
    per_customer = [theta[..., j] for j in range(4)] if theta.ndim > 1 else []
    columns = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T, *per_customer)))
    keys, inverse = distinct_rows(*(c.ravel() for c in columns))
    xu, Tu = keys[0], keys[1]
    r, alpha, a, b = keys[2:] if per_customer else (theta[j] for j in range(4))
    rx, big = r + xu, alpha + Tu
    hyp = hyp2f1_robust(rx, b + xu, a + b + xu - 1, t / (big + t))
    growth = (a + b + xu - 1) / (a - 1) * (1 - np.exp(rx * (np.log(big) - np.log(big + t))) * hyp)
    return growth, inverse, columns[0].shape


def population_expected_purchases(theta: np.ndarray, t) -> np.ndarray:
    """E[X(t)]: purchases of a new customer in its first ``t`` time units (eq. 9)."""
    r, alpha, a, b = (np.asarray(theta, dtype=float)[..., j] for j in range(4))
    t = np.asarray(t, dtype=float)
    hyp = hyp2f1_robust(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def simulate(theta: np.ndarray, T: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, alive)`` of customers drawn from BG/NBD ``theta``, each observed for ``T``
    time units after its first purchase (for recovery tests and benchmarks): purchases are
    drawn round by round for all customers at once."""
    r, alpha, a, b = (float(v) for v in theta)
    g = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)
    n = len(T)
    lam = g.gamma(r, 1.0 / alpha, n)
    p = g.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    clock = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    active = np.ones(n, dtype=bool)  # alive and not past T yet
    while active.any():
        idx = np.flatnonzero(active)
        clock[idx] += g.exponential(1.0, len(idx)) / lam[idx]
        bought = clock[idx] <= T[idx]
        buy = idx[bought]
        x[buy] += 1
        t_x[buy] = clock[buy]
        drop = buy[g.random(len(buy)) < p[buy]]
        alive[drop] = False
        active[idx[~bought]] = False
        active[drop] = False
    return x, t_x, alive
