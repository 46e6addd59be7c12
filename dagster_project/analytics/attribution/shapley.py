"""Shapley-value attribution with a conversion-probability value function.

Value function (per client). For a channel set S, ``v(S)`` estimates the probability that a
journey whose set of touched channels is exactly S converts:

    v(S) = (c_S + k * p(S)) / (n_S + k),   v(empty) = 0,

where n_S and c_S are the client's settled journeys (converting and not: see ``journeys``) and
settled conversions with channel set S, and p(S) is the prior of ``shapley_prior``: all clients'
rate of S shrunk towards a noisy-OR curve fitted to all clients. So v is the client's empirical
conversion rate of S shrunk towards the pooled rate with the weight of k pseudo-journeys: sets a
client saw often follow its own data, sets it rarely or never saw take the pooled value (most of
the 2^K), itself the noisy-OR curve's for sets few journeys of any client saw. Both weights are
estimated by empirical Bayes (``shapley_prior.fit_shapley_prior``) unless given.

Credit (the path-level Shapley of Zhao et al. 2018, "Shapley value methods for attribution
modeling in online advertising", as in the simulator's truth): for a converting journey with set
T the game is v restricted to subsets of T; channel j gets phi_j(T) / v(T) of the conversion and of
its revenue, where phi_j(T) = sum_{S subset T\\{j}} |S|!(|T|-|S|-1)!/|T|! [v(S+j) - v(S)]. Since
sum_j phi_j(T) = v(T) - v(empty) = v(T), credits add up to the conversions and revenue exactly.

Exact computation (up to ``max_exact_channels`` channels; 15 in ``AttributionSettings``): with
the Harsanyi dividends d = Moebius(v), phi_j(T) = sum_{S subset T, j in S} d(S) / |S|, hence
credit_j = sum_{S ni j} d(S) / |S| * W(S) with W(S) = sum_{T superset S} c_T / v(T): two fast
subset transforms (O(K 2^K) per client) and one matrix product, whatever the number of journeys.
Beyond: permutation sampling (Castro et al. 2009) of channel orders, in batches, until the
standard error of every channel's conversion and revenue credit is below ``tol`` x the client's
conversions and revenue (or ``max_permutations`` orders were drawn), each client's orders from
its own random stream (``streams``), so a client's sampled credits do not depend on the others.

Many reweightings of the same journeys (a bootstrap: ``shapley_credits_batch``), exact and
without 2^K tables per client: v = p + e with e(S) = (c_S - n_S p(S)) / (n_S + k), which is 0
outside the client's observed sets. By linearity phi(T) = phi_p(T) + phi_e(T), where phi_p (the
Shapley values of the prior) is one table per reweighting for all clients, and by the
Shapley formula, with w(s, t) = s!(t-s-1)!/t!,

    phi_e,j(T) = sum_{R subset T} e(R) ([j in R] b(R, T) - [j in T] a(R, T)),
    a(R, T) = w(|R|, |T|) (0 for R = T),   b(R, T) = w(|R| - 1, |T|) + a(R, T).

With u(T) = c_T / v(T) (r_T / v(T) for the revenue) the credit is
credit_j = sum_T u(T) (phi_p,j(T) - [j in T] A(T)) + sum_{R ni j} e(R) U(R), where
A(T) = sum_{R subset T} a(R, T) e(R) and U(R) = sum_{T superset R} b(R, T) u(T): sparse products
over the pairs of a client's sets (R observed, T converting, R subset T), the same for every
reweighting, for all reweightings at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import comb

from .journeys import Journeys
from .settings import AttributionSettings
from .shapley_prior import ShapleyPrior
from .streams import SHAPLEY_SAMPLING, client_generator


def _butterfly(a: np.ndarray, k: int, op: str) -> np.ndarray:
    """Subset transforms along the last axis of a (..., 2^k) array, in place."""
    lead = a.shape[:-1]
    for i in range(k):
        v = a.reshape(*lead, 2 ** (k - i - 1), 2, 2**i)
        if op == "moebius":  # d(S) = sum_{R subset S} (-1)^{|S-R|} v(R)
            v[..., 1, :] -= v[..., 0, :]
        elif op == "subset":  # subset sum: V(S) = sum_{R subset S} v(R)
            v[..., 1, :] += v[..., 0, :]
        else:  # superset sum: W(S) = sum_{T superset S} w(T)
            v[..., 0, :] += v[..., 1, :]
    return a


def shapley_options(settings: AttributionSettings) -> dict:
    """``shapley_attribution``'s keyword arguments from the analyst's settings."""
    return {"max_exact_channels": settings.max_exact_channels, "tol": settings.shapley_tolerance,
            "max_permutations": settings.shapley_max_permutations, "seed": settings.seed}


def shapley_attribution(j: Journeys, prior: ShapleyPrior, *, max_exact_channels: int,
                        tol: float, max_permutations: int, seed: int, stream: int = 0,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(conversion credit, revenue credit) per client x channel: exact up to
    ``max_exact_channels`` channels, permutation sampling beyond (see the module docstring),
    each client's permutations from its own stream (``streams``: seed, SHAPLEY_SAMPLING,
    ``stream``: 0 for the point estimate, r + 1 for bootstrap resample r)."""
    k, n_cl = j.n_channels, j.n_clients
    if max_exact_channels < 1 or not tol > 0 or max_permutations < 2:
        raise ValueError("max_exact_channels must be >= 1, tol > 0 and max_permutations >= 2, got "
                         f"{max_exact_channels}, {tol} and {max_permutations}")
    masks = j.masks
    touched = j.length > 0
    fj, fc = j.fit_journeys, j.fit_conversions
    k_prior = prior.strength
    conv = np.zeros((n_cl, k))
    rev = np.zeros((n_cl, k))
    if k <= max_exact_channels:
        p = prior.rate(np.arange(2**k))
        size = np.bitwise_count(np.arange(2**k)).astype(float)
        bits = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(float)
        inv_size = np.divide(1.0, size, out=np.zeros_like(size), where=size > 0)
        chunk = max(1, 2**22 // 2**k)
        for lo in range(0, n_cl, chunk):
            hi = min(n_cl, lo + chunk)
            sel = touched & (j.client >= lo) & (j.client < hi)
            idx = (j.client[sel] - lo) * 2**k + masks[sel]
            shape = (hi - lo, 2**k)
            n_S, f_S, c_S, r_S = (np.bincount(idx, w[sel], shape[0] * shape[1]).reshape(shape)
                                  for w in (fj, fc, j.conversions, j.revenue))
            v = (f_S + k_prior * p) / (n_S + k_prior)
            v[:, 0] = 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.stack([np.where(c_S > 0, c_S / v, 0.0), np.where(r_S > 0, r_S / v, 0.0)])
            d = _butterfly(v, k, "moebius") * inv_size
            W = _butterfly(w, k, "superset")
            conv[lo:hi] = (d * W[0]) @ bits
            rev[lo:hi] = (d * W[1]) @ bits
        return conv, rev
    for c in range(n_cl):
        sel = touched & (j.client == c) & (j.journeys > 0)
        if not (j.conversions[sel] > 0).any():
            continue
        rng = client_generator(seed, SHAPLEY_SAMPLING, j.clients[c], stream)
        conv[c], rev[c] = _sampled_client(masks[sel], fj[sel], fc[sel], j.conversions[sel],
                                          j.revenue[sel], prior, tol, max_permutations, rng)
    return conv, rev


@dataclass(frozen=True)
class ShapleyPairs:
    """The clients' observed channel sets and their subset pairs, for ``shapley_credits_batch``."""

    n_channels: int
    sets: sp.csr_matrix  # (n_sets, G): each touched group in its (client, channel set)
    mask: np.ndarray  # (n_sets,) channel-set bitmask of each set
    converting: np.ndarray  # (n_conv,) the sets with conversions (the only ones credited)
    conv_sets: sp.csr_matrix  # (n_conv, G): the rows of ``sets`` of the converting sets
    a: sp.csr_matrix  # (n_conv, n_sets) a(R, T) over the pairs R subset T
    b: sp.csr_matrix  # (n_sets, n_conv) b(R, T)
    # phi_p,j(T) terms, one per (converting set T, channel j in T): T's position, j, and the row
    # client * K + j that sums them
    term_set: np.ndarray
    term_channel: np.ndarray
    term_rows: sp.csr_matrix  # (n_clients * K, n_terms)
    bits: sp.csr_matrix  # (n_clients * K, n_sets): 1 at row client * K + j when j in S
    conv_bits: sp.csr_matrix  # bits of the converting sets


def shapley_pairs(j: Journeys) -> ShapleyPairs:
    """The pairs (R subset T, T converting, R observed, same client) of the journeys ``j``; valid
    for any reweighting of them (a set without journeys has e = 0, without conversions u = 0)."""
    K, n_cl = j.n_channels, j.n_clients
    touched = np.flatnonzero(j.length > 0)
    key, inv = np.unique(j.client[touched] << K | j.masks[touched], return_inverse=True)
    sets = sp.csr_matrix((np.ones(len(touched)), (inv, touched)), shape=(len(key), len(j.length)))
    client, mask = key >> K, key & (2**K - 1)
    converting = np.flatnonzero(np.bincount(inv, j.conversions[touched], len(key)) > 0)
    t_pos, sub = np.arange(len(converting)), np.zeros(len(converting), dtype=np.int64)
    for c in range(K):  # every subset of every converting set, one channel at a time
        has = (mask[converting[t_pos]] >> c) & 1 == 1
        t_pos, sub = np.concatenate([t_pos, t_pos[has]]), np.concatenate([sub, sub[has] | 1 << c])
    r_key = client[converting[t_pos]] << K | sub
    r_idx = np.minimum(np.searchsorted(key, r_key), len(key) - 1)
    hit = (key[r_idx] == r_key) & (sub > 0)
    r_idx, t_pos = r_idx[hit], t_pos[hit]
    size = np.bitwise_count(mask)
    s, t = size[r_idx].astype(np.int64), size[converting[t_pos]].astype(np.int64)
    w_st = np.zeros((K + 1, K + 1))  # w(s, t) = s!(t-s-1)!/t! = 1 / (t C(t-1, s)), s < t
    ss, tt = np.nonzero(np.arange(K + 1)[:, None] < np.arange(K + 1)[None, :])
    w_st[ss, tt] = 1.0 / (tt * comb(tt - 1, ss))
    a, b = w_st[s, t], w_st[s - 1, t] + w_st[s, t]
    n_sets, n_conv = len(key), len(converting)
    bits = (mask[:, None] >> np.arange(K)) & 1
    si, ch = np.nonzero(bits)
    bits_m = sp.csr_matrix((np.ones(len(si)), (client[si] * K + ch, si)), shape=(n_cl * K, n_sets))
    ti, tch = np.nonzero(bits[converting])
    rows = client[converting[ti]] * K + tch
    return ShapleyPairs(
        n_channels=K, sets=sets, mask=mask, converting=converting, conv_sets=sets[converting],
        a=sp.csr_matrix((a, (t_pos, r_idx)), shape=(n_conv, n_sets)),
        b=sp.csr_matrix((b, (r_idx, t_pos)), shape=(n_sets, n_conv)),
        term_set=ti, term_channel=tch,
        term_rows=sp.csr_matrix((np.ones(len(ti)), (rows, np.arange(len(ti)))),
                                shape=(n_cl * K, len(ti))),
        bits=bits_m, conv_bits=bits_m[:, converting],
    )


def prior_shapley_table(p: np.ndarray) -> np.ndarray:
    """The Shapley values phi_p,j(S) (B, K, 2^K) of the prior's games, p (2^K, B) over every
    bitmask: Harsanyi dividends d = Moebius(p) / |S|, phi_j(S) = sum_{R subset S, j in R} d(R)."""
    K = int(np.log2(p.shape[0]))
    every = np.arange(2**K)
    member = (every >> np.arange(K)[:, None]) & 1  # (K, 2^K)
    d = _butterfly(np.array(p.T, order="C"), K, "moebius") / np.maximum(np.bitwise_count(every), 1)
    return _butterfly(d[:, None, :] * member, K, "subset")


def shapley_credits_batch(p: ShapleyPairs, fit_journeys: np.ndarray, fit_conversions: np.ndarray,
                          conversions: np.ndarray, revenue: np.ndarray, prior: ShapleyPrior
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Exact (conversion, revenue) credit (B, n_clients, K) of B reweightings of the journeys of
    ``p`` (settled journeys and conversions, every conversion and its revenue: (G, B)), each as
    ``shapley_attribution`` (exact) of the reweighted journeys with the prior ``prior``, or
    ``prior.column(b)`` for reweighting b of a batched prior (``shapley_prior.refit``)."""
    B, k, conv = fit_journeys.shape[1], prior.strength, p.converting
    K = p.n_channels
    table = np.broadcast_to(prior.rate(np.arange(2**K)).reshape(2**K, -1), (2**K, B))
    phi_p = prior_shapley_table(table)
    base = table[p.mask]  # (n_sets, B) p(S) of the clients' observed sets
    n_S, f_S = p.sets @ fit_journeys, p.sets @ fit_conversions
    e = (f_S - n_S * base) / (n_S + k)
    c_T = p.conv_sets @ conversions
    v_T = (f_S[conv] + k * base[conv]) / (n_S[conv] + k)
    u = np.zeros((len(conv), 2, B))  # u(T) of the conversions and of the revenue
    np.divide(c_T, v_T, out=u[:, 0], where=c_T > 0)
    np.divide(p.conv_sets @ revenue, v_T, out=u[:, 1], where=c_T > 0)
    A = p.a @ e
    U = (p.b @ u.reshape(len(conv), 2 * B)).reshape(-1, 2, B)
    phi = phi_p[:, p.term_channel, p.mask[conv[p.term_set]]].T  # (n_terms, B)
    credit = (p.term_rows @ (phi[:, None, :] * u[p.term_set]).reshape(-1, 2 * B)
              - p.conv_bits @ (u * A[:, None]).reshape(len(conv), 2 * B)
              + p.bits @ (U * e[:, None]).reshape(-1, 2 * B))
    credit = credit.reshape(-1, p.n_channels, 2, B).transpose(2, 3, 0, 1)
    return credit[0], credit[1]


def _sampled_client(masks, n, f, c, r, prior: ShapleyPrior, tol, max_perm, rng, batch: int = 256):
    """Permutation-sampling Shapley credit for one client (more channels than the exact limit);
    n, f: settled journeys and conversions, c, r: every conversion and its revenue."""
    K = len(prior.q)
    k_prior = prior.strength
    order = np.argsort(masks)
    um, start = np.unique(masks[order], return_index=True)
    n_S, f_S, c_S, r_S = (np.add.reduceat(x[order], start) for x in (n, f, c, r))

    def value(s):
        pos = np.clip(np.searchsorted(um, s), 0, len(um) - 1)
        hit = um[pos] == s
        out = (np.where(hit, f_S[pos], 0.0) + k_prior * prior.rate(s)) / \
            (np.where(hit, n_S[pos], 0.0) + k_prior)
        return np.where(s == 0, 0.0, out)

    conv_T = c_S > 0
    T, wc, wr = um[conv_T], c_S[conv_T] / value(um[conv_T]), r_S[conv_T] / value(um[conv_T])
    limit = tol * np.array([c_S.sum(), r_S.sum()])
    draws = []
    while True:
        perm = rng.permuted(np.tile(np.arange(K), (batch, 1)), axis=1)
        before = np.zeros((batch, K), dtype=np.int64)  # mask of channels before each channel
        acc = np.zeros(batch, dtype=np.int64)
        for pos in range(K):
            before[np.arange(batch), perm[:, pos]] = acc
            acc = acc | (1 << perm[:, pos])
        pred = before[:, None, :] & T[None, :, None]  # (P, U, K)
        bit = 1 << np.arange(K)
        in_T = (T[None, :, None] & bit) != 0
        marg = np.where(in_T, value(pred | bit) - value(pred), 0.0)
        draws.append(np.stack([np.einsum("puk,u->pk", marg, wc),
                               np.einsum("puk,u->pk", marg, wr)], axis=1))  # (P, 2, K)
        d = np.concatenate(draws)
        se = d.std(axis=0, ddof=1) / np.sqrt(len(d))  # (2, K)
        if (se.max(axis=1) <= limit).all() or len(d) >= max_perm:
            return d[:, 0].mean(axis=0), d[:, 1].mean(axis=0)


def shapley_set_probability(train: Journeys, test_groups: np.ndarray, prior: ShapleyPrior
                            ) -> np.ndarray:
    """v(T) of the test groups' channel sets, estimated from the settled training journeys
    (``prior`` fitted on them)."""
    masks = train.masks
    touched = train.length > 0
    key = train.client * (1 << train.n_channels) + masks
    uk, inv = np.unique(key[touched], return_inverse=True)
    n_S = np.bincount(inv, train.fit_journeys[touched], len(uk))
    c_S = np.bincount(inv, train.fit_conversions[touched], len(uk))
    tk = key[test_groups]
    pos = np.clip(np.searchsorted(uk, tk), 0, max(len(uk) - 1, 0))
    hit = (uk[pos] == tk) if len(uk) else np.zeros(len(tk), bool)
    k = prior.strength
    return (np.where(hit, c_S[pos], 0.0) + k * prior.rate(masks[test_groups])) / \
        (np.where(hit, n_S[pos], 0.0) + k)
