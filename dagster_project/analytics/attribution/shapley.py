"""Shapley-value attribution with a conversion-probability value function.

Value function (per client). For a channel set S, ``v(S)`` estimates the probability that a
journey whose set of touched channels is exactly S converts:

    v(S) = (c_S + k * m(S)) / (n_S + k),   v(empty) = 0,

where n_S and c_S are the client's settled journeys (converting and not: see
``journeys``) and settled conversions with channel set S, and m(S) = 1 - exp(-sum_{j in S} q_j) is a noisy-OR model fitted
by maximum likelihood to the journeys of all clients (pooled), q_j = -log(1 - p_j) >= 0. So v is the
client's empirical conversion rate of S shrunk towards the pooled noisy-OR curve with the weight
of k pseudo-journeys (``prior_strength``): sets a client saw often follow its own data, unseen
sets (most of the 2^K) take the pooled model's value.

k is estimated by empirical Bayes (``fit_prior_strength``) unless given: every client x set cell's
conversions are taken as c_S ~ BetaBinomial(n_S, k m(S), k (1 - m(S))) -- a client's rate of S
drawn around the pooled curve with the spread of k pseudo-journeys -- and k maximises their joint
marginal likelihood. Clients that follow the pooled curve give a large k (v close to m: the
noise of a client's sparse cells, which a fixed small k lets through, biases the Shapley credit
towards the channels its journeys merely touched); clients that really differ give a small k.

Credit (the path-level Shapley of Zhao et al. 2018, "Shapley value methods for attribution
modeling in online advertising", as in the simulator's truth): for a converting journey with set
T the game is v restricted to subsets of T; channel j gets phi_j(T) / v(T) of the conversion and of
its revenue, where phi_j(T) = sum_{S subset T\\{j}} |S|!(|T|-|S|-1)!/|T|! [v(S+j) - v(S)]. Since
sum_j phi_j(T) = v(T) - v(empty) = v(T), credits add up to the conversions and revenue exactly.

Exact computation (<= ``max_exact_channels`` = 15 channels): with the Harsanyi dividends
d = Moebius(v), phi_j(T) = sum_{S subset T, j in S} d(S) / |S|, hence
credit_j = sum_{S ni j} d(S) / |S| * W(S) with W(S) = sum_{T superset S} c_T / v(T): two fast subset
transforms (O(K 2^K) per client) and one matrix product, whatever the number of journeys.
Beyond: permutation sampling (Castro et al. 2009) of channel orders, in batches, until the
standard error of every channel's credit is below ``tol`` x the client's conversions.

Many reweightings of the same journeys (a bootstrap: ``shapley_credits_batch``), exact and
without 2^K tables per client: v = m + e with e(S) = (c_S - n_S m(S)) / (n_S + k), which is 0
outside the client's observed sets. By linearity phi(T) = phi_m(T) + phi_e(T), where phi_m (the
Shapley values of the pooled curve) is one table for all clients and reweightings, and by the
Shapley formula, with w(s, t) = s!(t-s-1)!/t!,

    phi_e,j(T) = sum_{R subset T} e(R) ([j in R] b(R, T) - [j in T] a(R, T)),
    a(R, T) = w(|R|, |T|) (0 for R = T),   b(R, T) = w(|R| - 1, |T|) + a(R, T).

With u(T) = c_T / v(T) (r_T / v(T) for the revenue) the credit is
credit_j = sum_T u(T) (phi_m,j(T) - [j in T] A(T)) + sum_{R ni j} e(R) U(R), where
A(T) = sum_{R subset T} a(R, T) e(R) and U(R) = sum_{T superset R} b(R, T) u(T): sparse products
over the pairs of a client's sets (R observed, T converting, R subset T), the same for every
reweighting, for all reweightings at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize, minimize_scalar
from scipy.special import betaln, comb

from .journeys import Journeys

MAX_EXACT_CHANNELS = 15


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


PRIOR_STRENGTH_BOUNDS = (0.1, 1e6)  # pseudo-journeys; the upper end means "the pooled curve"


def fit_prior_strength(j: Journeys, q: np.ndarray) -> float:
    """Empirical-Bayes k: the maximiser of the beta-binomial marginal likelihood of the clients'
    conversions per channel set around the pooled curve m (see the module docstring)."""
    fj, fc = j.fit_journeys, j.fit_conversions
    touched = np.flatnonzero((j.length > 0) & (fj > 0))
    if len(touched) == 0:
        return PRIOR_STRENGTH_BOUNDS[1]
    key, cell = np.unique(j.client[touched] << j.n_channels | j.masks[touched], return_inverse=True)
    n = np.bincount(cell, fj[touched])
    c = np.minimum(np.bincount(cell, fc[touched]), n)
    bits = ((key & (2**j.n_channels - 1))[:, None] >> np.arange(j.n_channels)) & 1
    m = np.clip(-np.expm1(-(bits @ q)), 1e-9, 1 - 1e-9)

    def neg_log_marginal(log_k: float) -> float:
        k = np.exp(log_k)
        return -(betaln(c + k * m, n - c + k * (1 - m)) - betaln(k * m, k * (1 - m))).sum()

    lo, hi = np.log(PRIOR_STRENGTH_BOUNDS)
    return float(np.exp(minimize_scalar(neg_log_marginal, bounds=(lo, hi), method="bounded",
                                        options={"xatol": 1e-3}).x))


@dataclass(frozen=True)
class ShapleyPrior:
    """The pooled noisy-OR curve m (hazards q per channel) and its weight k in v."""

    q: np.ndarray
    strength: float


def fit_shapley_prior(j: Journeys, strength: float | None = None) -> ShapleyPrior:
    """q by maximum likelihood on all clients' settled journeys; k as given, else by empirical
    Bayes."""
    q = fit_noisy_or(j.masks, j.fit_journeys, j.fit_conversions, j.n_channels)
    return ShapleyPrior(q, fit_prior_strength(j, q) if strength is None else float(strength))


def noisy_or_table(q: np.ndarray) -> np.ndarray:
    """m(S) for every bitmask S over len(q) channels."""
    k = len(q)
    bits = (np.arange(2**k)[:, None] >> np.arange(k)) & 1
    return -np.expm1(-(bits @ q))


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


def shapley_attribution(j: Journeys, prior_strength: float = 10.0,
                        max_exact_channels: int = MAX_EXACT_CHANNELS, tol: float = 1e-3,
                        max_permutations: int = 20_000, seed: int = 0, q: np.ndarray | None = None,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(conversion credit, revenue credit) per client x channel, and the pooled noisy-OR q."""
    k, n_cl = j.n_channels, j.n_clients
    masks = j.masks
    touched = j.length > 0
    fj, fc = j.fit_journeys, j.fit_conversions
    if q is None:
        q = fit_noisy_or(masks, fj, fc, k)
    conv = np.zeros((n_cl, k))
    rev = np.zeros((n_cl, k))
    if k <= max_exact_channels:
        m = noisy_or_table(q)
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
            v = (f_S + prior_strength * m) / (n_S + prior_strength)
            v[:, 0] = 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.stack([np.where(c_S > 0, c_S / v, 0.0), np.where(r_S > 0, r_S / v, 0.0)])
            d = _butterfly(v, k, "moebius") * inv_size
            W = _butterfly(w, k, "superset")
            conv[lo:hi] = (d * W[0]) @ bits
            rev[lo:hi] = (d * W[1]) @ bits
        return conv, rev, q
    rng = np.random.default_rng(seed)
    for c in range(n_cl):
        sel = touched & (j.client == c) & (j.journeys > 0)
        if not (j.conversions[sel] > 0).any():
            continue
        conv[c], rev[c] = _sampled_client(masks[sel], fj[sel], fc[sel], j.conversions[sel],
                                          j.revenue[sel], q, prior_strength, tol,
                                          max_permutations, rng)
    return conv, rev, q


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
    # phi_m,j(T) terms, one per (converting set T, channel j in T): T's position, j, and the row
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


def pooled_shapley_table(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """m(S) (2^K, B) and the Shapley values phi_m,j(S) (B, K, 2^K) of the pooled curve for the
    hazards q (K, B): Harsanyi dividends d = Moebius(m) / |S|, phi_j(S) = sum_{R subset S, j in R} d(R)."""
    K = q.shape[0]
    every = np.arange(2**K)
    member = (every >> np.arange(K)[:, None]) & 1  # (K, 2^K)
    m = -np.expm1(-(member.T @ q))
    d = _butterfly(np.ascontiguousarray(m.T), K, "moebius") / np.maximum(np.bitwise_count(every), 1)
    return m, _butterfly(d[:, None, :] * member, K, "subset")


def shapley_credits_batch(p: ShapleyPairs, fit_journeys: np.ndarray, fit_conversions: np.ndarray,
                          conversions: np.ndarray, revenue: np.ndarray, q: np.ndarray,
                          prior_strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (conversion, revenue) credit (B, n_clients, K) of B reweightings of the journeys of
    ``p`` (settled journeys and conversions, every conversion and its revenue: (G, B)), each as
    ``shapley_attribution`` (exact) of the reweighted journeys with the pooled hazards q (K,), or
    q[:, b] (q: (K, B)) for reweighting b."""
    B, k, conv = fit_journeys.shape[1], prior_strength, p.converting
    m, phi_m = pooled_shapley_table(np.broadcast_to(q.reshape(p.n_channels, -1), (p.n_channels, B)))
    prior = m[p.mask]  # (n_sets, B)
    n_S, f_S = p.sets @ fit_journeys, p.sets @ fit_conversions
    e = (f_S - n_S * prior) / (n_S + k)
    c_T = p.conv_sets @ conversions
    v_T = (f_S[conv] + k * prior[conv]) / (n_S[conv] + k)
    u = np.zeros((len(conv), 2, B))  # u(T) of the conversions and of the revenue
    np.divide(c_T, v_T, out=u[:, 0], where=c_T > 0)
    np.divide(p.conv_sets @ revenue, v_T, out=u[:, 1], where=c_T > 0)
    A = p.a @ e
    U = (p.b @ u.reshape(len(conv), 2 * B)).reshape(-1, 2, B)
    phi = phi_m[:, p.term_channel, p.mask[conv[p.term_set]]].T  # (n_terms, B)
    credit = (p.term_rows @ (phi[:, None, :] * u[p.term_set]).reshape(-1, 2 * B)
              - p.conv_bits @ (u * A[:, None]).reshape(len(conv), 2 * B)
              + p.bits @ (U * e[:, None]).reshape(-1, 2 * B))
    credit = credit.reshape(-1, p.n_channels, 2, B).transpose(2, 3, 0, 1)
    return credit[0], credit[1]


def _sampled_client(masks, n, f, c, r, q, k_prior, tol, max_perm, rng, batch: int = 256):
    """Permutation-sampling Shapley credit for one client (more channels than the exact limit);
    n, f: settled journeys and conversions, c, r: every conversion and its revenue."""
    K = len(q)
    order = np.argsort(masks)
    um, start = np.unique(masks[order], return_index=True)
    n_S, f_S, c_S, r_S = (np.add.reduceat(x[order], start) for x in (n, f, c, r))

    def value(s):
        pos = np.clip(np.searchsorted(um, s), 0, len(um) - 1)
        hit = um[pos] == s
        bits = (s[..., None] >> np.arange(K)) & 1
        m = -np.expm1(-(bits @ q))
        out = (np.where(hit, f_S[pos], 0.0) + k_prior * m) / (np.where(hit, n_S[pos], 0.0) + k_prior)
        return np.where(s == 0, 0.0, out)

    conv_T = c_S > 0
    T, wc, wr = um[conv_T], c_S[conv_T] / value(um[conv_T]), r_S[conv_T] / value(um[conv_T])
    total = c_S.sum()
    draws_c, draws_r = [], []
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
        draws_c.append(np.einsum("puk,u->pk", marg, wc))
        draws_r.append(np.einsum("puk,u->pk", marg, wr))
        dc = np.concatenate(draws_c)
        se = dc.std(axis=0, ddof=1) / np.sqrt(len(dc))
        if se.max() <= tol * total or len(dc) >= max_perm:
            return dc.mean(axis=0), np.concatenate(draws_r).mean(axis=0)


def shapley_set_probability(train: Journeys, test_groups: np.ndarray, q: np.ndarray,
                            prior_strength: float) -> np.ndarray:
    """v(T) of the test groups' channel sets, estimated from the settled training journeys."""
    masks = train.masks
    touched = train.length > 0
    key = train.client * (1 << train.n_channels) + masks
    uk, inv = np.unique(key[touched], return_inverse=True)
    n_S = np.bincount(inv, train.fit_journeys[touched], len(uk))
    c_S = np.bincount(inv, train.fit_conversions[touched], len(uk))
    tk = key[test_groups]
    pos = np.clip(np.searchsorted(uk, tk), 0, max(len(uk) - 1, 0))
    hit = (uk[pos] == tk) if len(uk) else np.zeros(len(tk), bool)
    bits = (masks[test_groups][:, None] >> np.arange(train.n_channels)) & 1
    m = -np.expm1(-(bits @ q))
    return (np.where(hit, c_S[pos], 0.0) + prior_strength * m) / \
        (np.where(hit, n_S[pos], 0.0) + prior_strength)
