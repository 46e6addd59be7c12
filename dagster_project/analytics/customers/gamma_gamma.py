"""Gamma-Gamma: the spend per transaction of repeat buyers.

Fader, Hardie & Lee (2005b), "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis", Journal of Marketing Research 42(4), and Fader & Hardie's note "The Gamma-Gamma
Model of Monetary Value" (2013). Each transaction's value is Gamma(p, nu) (shape p, rate nu);
across customers nu ~ Gamma(q, v) (shape q, rate v); spend is independent of the transaction
process. A customer is summarised by x >= 1 repeat transactions and their mean value m_x > 0.

Log-likelihood of one customer (the density of m_x given x):

    ll = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln m_x + px ln x - (px+q) ln(v + x m_x)

Scoring: E[M | x, m_x] = p (v + x m_x) / (px + q - 1), a weighted mean of the population mean
p v / (q - 1) (requires q > 1) and the customer's own m_x. A customer with no repeat
transaction (x = 0) gets the population mean, as in the references.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from .fitting import GroupFit, fit_groups, group_params, unique_rows

PARAMS = ("p", "q", "v")
START = np.array([1.0, 2.0, 1.0])


def _check(x, m_x) -> tuple[np.ndarray, np.ndarray]:
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    if np.any(x < 1) or np.any(x != np.floor(x)):
        raise ValueError("x (repeat transactions) must be whole numbers >= 1 for Gamma-Gamma")
    if np.any(~(m_x > 0)):
        raise ValueError("m_x (mean repeat transaction value) must be > 0")
    return x, m_x


def loglik_data(x, m_x, groups: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The arrays :func:`loglik` reads: x, ln m_x, ln x, x m_x, and each customer's distinct
    (group, x) pair for the gamma-function terms."""
    x, m_x = _check(x, m_x)
    g = np.zeros(len(x), dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    (pg, px), _ = unique_rows(g, x)
    width = px.max(initial=0) + 1
    pair = np.searchsorted(pg * width + px, g * width + x)
    return {"x": x, "log_m": np.log(m_x), "log_x": np.log(x), "xm": x * m_x, "pair": pair,
            "pair_g": pg.astype(np.int64), "pair_x": px}


def loglik(theta: np.ndarray, groups: np.ndarray,
           data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient in (ln p, ln q, ln v) (one array each), for group
    parameters ``theta`` (G, 3); ``data`` from :func:`loglik_data`."""
    x, log_m, log_x, xm, pair = (data[k] for k in ("x", "log_m", "log_x", "xm", "pair"))
    pp, pq = theta[data["pair_g"], 0], theta[data["pair_g"], 1]
    ppx = pp * data["pair_x"]
    const = (gammaln(ppx + pq) - gammaln(ppx) - gammaln(pq))[pair]
    psi = digamma(ppx + pq)
    psi_p = (psi - digamma(ppx))[pair]
    psi_q = (psi - digamma(pq))[pair]
    p, q, v = (group_params(theta, groups, j) for j in range(3))
    px = p * x
    log_vxm = np.log(v + xm)
    ll = const + q * np.log(v) + (px - 1) * log_m + px * log_x - (px + q) * log_vxm
    d_p = x * (psi_p + log_m + log_x - log_vxm)
    d_q = psi_q + np.log(v) - log_vxm
    d_v = q / v - (px + q) / (v + xm)
    return ll, [d_p * p, d_q * q, d_v * v]


def fit(x, m_x, groups: np.ndarray | None = None, n_groups: int = 1,
        prior_mean: np.ndarray | None = None,
        prior_precision: np.ndarray | None = None) -> GroupFit:
    """Maximum-likelihood (or MAP) ``(p, q, v)`` per group from repeat buyers' (x, m_x).
    Customers with identical (group, x, m_x) are fitted once with their count as weight."""
    x, m_x = _check(x, m_x)
    g = np.zeros(len(x)) if groups is None else np.asarray(groups)
    (gu, xu, mu), counts = unique_rows(g, x, m_x)
    gu = gu.astype(np.int64)
    return fit_groups(loglik, loglik_data(xu, mu, gu), START, gu, n_groups, counts,
                      prior_mean, prior_precision)


def population_mean(theta: np.ndarray) -> np.ndarray:
    """E[M] = p v / (q - 1) for a customer with no repeat transaction; NaN when q <= 1 (the
    mean does not exist)."""
    p, q, v = (np.asarray(theta, dtype=float)[..., j] for j in range(3))
    return np.where(q > 1, p * v / np.where(q > 1, q - 1, 1.0), np.nan)


def expected_spend(theta: np.ndarray, x, m_x) -> np.ndarray:
    """E[M | x, m_x]; customers with x = 0 (m_x ignored) get :func:`population_mean`."""
    x, m_x = np.asarray(x, dtype=float), np.asarray(m_x, dtype=float)
    p, q, v = (np.asarray(theta, dtype=float)[..., j] for j in range(3))
    repeat = x > 0
    own = p * (v + x * np.where(repeat, m_x, 0.0)) / (p * x + q - 1)
    return np.where(repeat & (p * x + q > 1), own, population_mean(theta))


def simulate(theta: np.ndarray, x: np.ndarray, seed: int) -> np.ndarray:
    """Mean value m_x of ``x`` Gamma(p, nu) transactions per customer, nu ~ Gamma(q, v)."""
    p, q, v = (float(t) for t in theta)
    g = np.random.default_rng(seed)
    nu = g.gamma(q, 1.0 / v, len(x))
    return g.gamma(p * np.asarray(x, dtype=float), 1.0 / nu) / np.asarray(x, dtype=float)
