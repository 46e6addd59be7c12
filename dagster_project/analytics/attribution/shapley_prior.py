"""The prior of the Shapley model's value function: pooled channel-set rates over a noisy-OR curve.

A client's conversion rate of a channel set S is shrunk in two levels (``shapley`` uses it):

    v_client(S) = (c_S + k p(S)) / (n_S + k)            the client's settled journeys of S
    p(S)        = (C_S + k0 m(S)) / (N_S + k0)          all clients' settled journeys of S
    m(S)        = 1 - exp(-sum_{j in S} q_j)            noisy-OR, fitted to all clients

so a client's sparse cells borrow strength from the pooled rate of the same set, and the pooled
rate of a set few journeys saw borrows from the noisy-OR curve. The pooled level learns from every
client's data the systematic departures from noisy-OR (synergies between channels, substitutes,
a logistic rather than a noisy-OR link): with one level only (v shrunk straight to m), a misfit
of m makes the empirical-Bayes weight small, and then every client's noise enters its credit.

Both weights are estimated by empirical Bayes unless given (``fit_strength``): the pooled rates
as C_S ~ BetaBinomial(N_S, k0 m(S), k0 (1 - m(S))), then each client x set cell as
c_S ~ BetaBinomial(n_S, k p(S), k (1 - p(S))), each weight maximising its marginal likelihood.
When all clients follow the noisy-OR curve k0 is large (p ~ m) and the model is the one-level
shrinkage towards m; when they share another curve k0 is small (p ~ the pooled empirical rates)
and k large. A client's own journeys count in C_S too (no leave-one-out): with many clients the
pooled rate barely moves, and a dominant client is shrunk towards itself, not away from it.

Everything the prior is fitted on is a sum of counts (``PooledCounts``: the settled journeys and
conversions per channel set over all clients, and per client x set cell), so batches of clients
are counted one at a time and merged: the prior of the merged counts is the prior of all the
journeys at once, to the bit (the counts are whole numbers, summed exactly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize, minimize_scalar
from scipy.special import betaln

from .journeys import Journeys

STRENGTH_BOUNDS = (0.1, 1e6)  # pseudo-journeys; the upper end means "the level above"


def fit_noisy_or(masks: np.ndarray, journeys: np.ndarray, conversions: np.ndarray, k: int
                 ) -> np.ndarray:
    """Maximum-likelihood q (K,) of P(convert | S) = 1 - exp(-sum_{j in S} q_j) (grouped data);
    with (G, B) journeys and conversions, the q (K, B) of each of B reweightings."""
    um, inv = np.unique(masks, return_inverse=True)  # group by channel set
    touched = um > 0
    X = ((um[touched][:, None] >> np.arange(k)) & 1).astype(float)
    cols = journeys.reshape(len(masks), -1), conversions.reshape(len(masks), -1)
    n_all, c_all = (np.stack([np.bincount(inv, w[:, b], len(um))[touched] for b in range(w.shape[1])],
                             axis=1) for w in cols)
    def nll(q, n, c):
        t = np.maximum(X @ q, 1e-12)
        e = np.exp(-t)
        f = -(c * np.log1p(-e) - (n - c) * t).sum()
        g = -(X.T @ (c * e / -np.expm1(-t) - (n - c)))
        return f, g

    out = np.empty((k, n_all.shape[1]))
    for b in range(n_all.shape[1]):
        n, c = n_all[:, b], np.minimum(c_all[:, b], n_all[:, b])
        seen = (X * (n > 0)[:, None]).sum(axis=0) > 0
        out[:, b] = minimize(nll, np.full(k, 0.05), args=(n, c), jac=True, method="L-BFGS-B",
                             bounds=[(1e-8, 50.0) if s else (1e-8, 1e-8) for s in seen]).x
    return out[:, 0] if journeys.ndim == 1 else out


def fit_strength(n: np.ndarray, c: np.ndarray, mean: np.ndarray) -> float:
    """Empirical-Bayes weight k: the maximiser over ``STRENGTH_BOUNDS`` of the beta-binomial
    marginal likelihood sum_i log BB(c_i | n_i, k mean_i, k (1 - mean_i)) of cells with n_i
    trials and c_i successes whose rates are drawn around ``mean`` (the upper bound without
    cells)."""
    keep = n > 0
    if not keep.any():
        return STRENGTH_BOUNDS[1]
    n, m = n[keep], np.clip(mean[keep], 1e-9, 1 - 1e-9)
    c = np.minimum(c[keep], n)

    def neg_log_marginal(log_k: float) -> float:
        k = np.exp(log_k)
        return -(betaln(c + k * m, n - c + k * (1 - m)) - betaln(k * m, k * (1 - m))).sum()

    lo, hi = np.log(STRENGTH_BOUNDS)
    return float(np.exp(minimize_scalar(neg_log_marginal, bounds=(lo, hi), method="bounded",
                                        options={"xatol": 1e-3}).x))


def noisy_or_rate(masks: np.ndarray, q: np.ndarray) -> np.ndarray:
    """m(S) for the bitmasks ``masks`` (any shape) and hazards q (K,) or (K, B)."""
    bits = (masks[..., None] >> np.arange(q.shape[0])) & 1
    return -np.expm1(-(bits @ q))


@dataclass(frozen=True)
class ShapleyPrior:
    """The pooled rates p(S) (see the module docstring) and the client-level weight k.

    ``q`` and the set counts are those of one fit, or of B reweightings side by side (last axis
    B: ``refit``); the weights are shared."""

    q: np.ndarray  # (K,) | (K, B) hazards of the noisy-OR curve m
    pooled_strength: float  # k0: pseudo-journeys of m in the pooled rates
    strength: float  # k: pseudo-journeys of the pooled rates in a client's v
    sets: np.ndarray  # (n_sets,) sorted channel sets of the touched groups
    set_journeys: np.ndarray  # (n_sets,) | (n_sets, B) N_S: settled journeys, all clients
    set_conversions: np.ndarray  # (n_sets,) | (n_sets, B) C_S

    def rate(self, masks: np.ndarray) -> np.ndarray:
        """p(S) of the bitmasks ``masks`` (any shape; 0 for the empty set), with a trailing B
        axis for a batched prior: m(S) + (C_S - N_S m(S)) / (N_S + k0), where N = C = 0 outside
        the observed sets."""
        masks = np.asarray(masks)
        m = noisy_or_rate(masks, self.q)
        if len(self.sets) == 0:
            return m
        pos = np.clip(np.searchsorted(self.sets, masks), 0, len(self.sets) - 1)
        hit = self.sets[pos] == masks
        n, c = self.set_journeys[pos], self.set_conversions[pos]
        return m + np.where(hit[..., None] if self.q.ndim == 2 else hit,
                            (c - n * m) / (n + self.pooled_strength), 0.0)

    def column(self, b: int) -> ShapleyPrior:
        """Reweighting b of a batched prior."""
        return ShapleyPrior(self.q[:, b], self.pooled_strength, self.strength, self.sets,
                            self.set_journeys[:, b], self.set_conversions[:, b])

    def columns(self, lo: int, hi: int) -> ShapleyPrior:
        """Reweightings lo..hi-1 of a batched prior, still batched."""
        return ShapleyPrior(self.q[:, lo:hi], self.pooled_strength, self.strength, self.sets,
                            self.set_journeys[:, lo:hi], self.set_conversions[:, lo:hi])


def pooled_sets(j: Journeys) -> tuple[np.ndarray, sp.csr_matrix]:
    """The channel sets of ``j``'s touched groups (sorted) and the (sets x groups) incidence."""
    touched = np.flatnonzero(j.length > 0)
    sets, inv = np.unique(j.masks[touched], return_inverse=True)
    return sets, sp.csr_matrix((np.ones(len(touched)), (inv, touched)),
                               shape=(len(sets), len(j.length)))


@dataclass(frozen=True)
class PooledCounts:
    """What the prior is fitted on: settled journeys and conversions per channel set summed over
    clients (one weighting, or B reweightings side by side), and, for one weighting, per client x
    set cell (``cell_keys``: the client's rank << n_channels | the set). Counts of batches of
    clients add up (``merge``) to those of all the clients at once: they are sums of counts."""

    n_channels: int
    sets: np.ndarray  # (n_sets,) sorted bitmasks of the touched groups' channel sets
    set_journeys: np.ndarray  # (n_sets,) | (n_sets, B)
    set_conversions: np.ndarray  # (n_sets,) | (n_sets, B)
    cell_keys: np.ndarray | None = None  # (n_cells,) sorted; None for reweightings
    cell_journeys: np.ndarray | None = None
    cell_conversions: np.ndarray | None = None

    @classmethod
    def of(cls, j: Journeys, fit_journeys: np.ndarray, fit_conversions: np.ndarray,
           client_rank: np.ndarray | None = None,
           pool: tuple[np.ndarray, sp.csr_matrix] | None = None) -> PooledCounts:
        """The counts of ``j``'s groups weighted by settled journeys and conversions ((G,) or
        (G, B)); ``client_rank``: each client's rank among all clients (default: its index in
        ``j``), the cells' order; ``pool``: ``pooled_sets(j)``, to compute once for many
        weightings."""
        sets, incidence = pool or pooled_sets(j)
        counts = cls(j.n_channels, sets, incidence @ fit_journeys, incidence @ fit_conversions)
        if fit_journeys.ndim > 1:
            return counts
        rank = np.arange(j.n_clients) if client_rank is None else np.asarray(client_rank)
        touched = np.flatnonzero((j.length > 0) & (fit_journeys > 0))
        key, cell = np.unique(rank[j.client[touched]] << j.n_channels | j.masks[touched],
                              return_inverse=True)
        return cls(j.n_channels, sets, counts.set_journeys, counts.set_conversions, key,
                   np.bincount(cell, fit_journeys[touched], len(key)),
                   np.bincount(cell, fit_conversions[touched], len(key)))

    @staticmethod
    def merge(parts: list[PooledCounts]) -> PooledCounts:
        """The counts of the union of the clients of ``parts`` (disjoint sets of clients)."""
        sets = np.unique(np.concatenate([p.sets for p in parts]))
        shape = (len(sets), *parts[0].set_journeys.shape[1:])
        n, c = np.zeros(shape), np.zeros(shape)
        for p in parts:
            at = np.searchsorted(sets, p.sets)
            n[at] += p.set_journeys
            c[at] += p.set_conversions
        merged = PooledCounts(parts[0].n_channels, sets, n, c)
        if parts[0].cell_keys is None:
            return merged
        key, cell = np.unique(np.concatenate([p.cell_keys for p in parts]), return_inverse=True)
        return PooledCounts(merged.n_channels, sets, n, c, key,
                            np.bincount(cell, np.concatenate([p.cell_journeys for p in parts]),
                                        len(key)),
                            np.bincount(cell, np.concatenate([p.cell_conversions for p in parts]),
                                        len(key)))


def refit(prior: ShapleyPrior, counts: PooledCounts) -> ShapleyPrior:
    """The prior refitted on reweightings of the journeys (``counts`` of (G,) or (G, B)
    weights): q and the pooled set counts anew, the weights k0 and k kept."""
    n = counts.set_journeys
    return ShapleyPrior(fit_noisy_or(counts.sets, n, counts.set_conversions, counts.n_channels),
                        prior.pooled_strength, prior.strength, counts.sets, n,
                        np.minimum(counts.set_conversions, n))


def fit_prior(counts: PooledCounts, strength: float | None = None,
              pooled_strength: float | None = None) -> ShapleyPrior:
    """q by maximum likelihood on the pooled set counts, and the weights k0 (``pooled_strength``)
    and k (``strength``) as given, else by empirical Bayes (k0 on the sets, k on the cells)."""
    K, sets = counts.n_channels, counts.sets
    n = counts.set_journeys
    c = np.minimum(counts.set_conversions, n)
    q = fit_noisy_or(sets, n, c, K)
    k0 = (fit_strength(n, c, noisy_or_rate(sets, q)) if pooled_strength is None
          else float(pooled_strength))
    prior = ShapleyPrior(q, k0, np.nan, sets, n, c)
    if strength is None:
        strength = fit_strength(counts.cell_journeys, counts.cell_conversions,
                                prior.rate(counts.cell_keys & (2**K - 1)))
    return ShapleyPrior(q, k0, float(strength), sets, n, c)


def fit_shapley_prior(j: Journeys, strength: float | None = None,
                      pooled_strength: float | None = None) -> ShapleyPrior:
    """``fit_prior`` on all of ``j``'s settled journeys."""
    return fit_prior(PooledCounts.of(j, j.fit_journeys, j.fit_conversions), strength,
                     pooled_strength)
