"""Poisson bootstrap of every attribution model: all models refitted on each resample.

Each resample draws, for every group of identical journeys, Poisson(n) settled converting,
Poisson(u) unsettled converting and Poisson(m) non-converting journeys (n, u, m the group's
counts). A client's draws come from its own stream (``streams``: seed, BOOTSTRAP, the client):
resample after resample, and within a resample the client's groups' settled conversions, then
their unsettled conversions, then their non-converting journeys, groups in the client's path
order (a Poisson(0) draw is 0 and takes no random number). So the resamples of a client are the
same whichever other clients are fitted with it, in one batch or in many.

The pooled part of every resample (the Shapley prior's noisy-OR curve and pooled channel-set
rates, refitted on the resample over all clients) needs all clients' draws: ``resample_counts``
sums one batch's draws per channel set (``PooledCounts``, sums of counts that add up over
batches), and ``bootstrap`` takes the prior refitted on the sums of all batches
(``shapley_prior.refit``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .journeys import Journeys
from .markov import build_structure, markov_shares_batch
from .settings import MODELS, RULE_MODELS, AttributionSettings
from .shapley import shapley_attribution, shapley_credits_batch, shapley_options, shapley_pairs
from .shapley_prior import PooledCounts, ShapleyPrior, pooled_sets
from .streams import BOOTSTRAP, client_generator

BOOTSTRAP_CHUNK = 4  # resamples refitted together (larger chunks only add memory traffic)
COUNT_CHUNK = 32  # resamples counted per channel set together (resample_counts)


def poisson_counts(j: Journeys, settings: AttributionSettings) -> tuple[np.ndarray, np.ndarray]:
    """Every resample's Poisson draws of ``j``'s groups: (flat indexes into the (3, G) array of
    settled conversions, unsettled conversions and non-converting journeys of the groups,
    (resamples, indexes) int32 counts); only the non-zero expectations are listed (the others
    draw 0). Each client from its own stream (module docstring): one call per client."""
    lam = np.stack([j.fit_conversions, j.conversions - j.fit_conversions,
                    j.journeys - j.conversions]).ravel()
    G, R = len(j.length), settings.bootstrap_resamples
    index, counts = [], []
    for client, groups in zip(j.clients, j.client_groups):
        flat = (np.arange(3)[:, None] * G + groups).ravel()
        flat = flat[lam[flat] > 0]
        rng = client_generator(settings.seed, BOOTSTRAP, client)
        index.append(flat)
        counts.append(rng.poisson(lam[flat], size=(R, len(flat))).astype(np.int32))
    return (np.concatenate(index) if index else np.zeros(0, np.int64),
            np.concatenate(counts, axis=1) if counts else np.zeros((R, 0), np.int32))


def _expand(draws: tuple[np.ndarray, np.ndarray], lo: int, hi: int, G: int) -> np.ndarray:
    """Resamples lo..hi-1 of ``poisson_counts`` as a dense (3, G, hi - lo) float array."""
    index, counts = draws
    cm = np.zeros((3 * G, hi - lo))
    cm[index] = counts[lo:hi].T
    return cm.reshape(3, G, hi - lo)


def resample_counts(j: Journeys, settings: AttributionSettings) -> PooledCounts:
    """The settled journeys and conversions per channel set of every resample of ``j``'s
    clients ((sets, resamples)): one batch's part of the resamples' pooled prior refits."""
    draws, pool = poisson_counts(j, settings), pooled_sets(j)
    G, R = len(j.length), settings.bootstrap_resamples
    n, c = np.empty((len(pool[0]), R)), np.empty((len(pool[0]), R))
    for lo in range(0, R, COUNT_CHUNK):
        hi = min(R, lo + COUNT_CHUNK)
        cm = _expand(draws, lo, hi, G)
        part = PooledCounts.of(j, cm[0] + cm[2], cm[0], pool=pool)
        n[:, lo:hi], c[:, lo:hi] = part.set_journeys, part.set_conversions
    return PooledCounts(j.n_channels, pool[0], n, c)


def bootstrap(j: Journeys, fractions, settings: AttributionSettings, resampled: ShapleyPrior,
              structure=None) -> dict[str, np.ndarray]:
    """Per model, (resamples, 2, n_clients, K+1) bootstrap credits (conversions, revenue).

    ``resampled``: the Shapley model's prior refitted on every resample over all clients
    (``shapley_prior.refit`` of the summed ``resample_counts``; q (K, resamples)): when the
    clients follow it, the client-level empirical-Bayes weight is large, the prior is most of v,
    and its sampling error most of the pooled shares' error. Its weights k0 and k,
    hyperparameters, keep the values of the prior fitted on all journeys.

    Every resample gets what ``model_credits`` gives on it, computed ``BOOTSTRAP_CHUNK``
    resamples at a time: the rule-based credits and the client totals as one sparse product
    (they are linear in the resampled conversions), the Markov chains on the shared
    ``structure`` (``markov_shares_batch``) and the exact Shapley credits over the shared
    subset pairs (``shapley_credits_batch``; beyond ``settings.max_exact_channels``,
    ``shapley_attribution``'s sampled credits of each resample, each client's permutations
    from its stream for that resample)."""
    structure = structure or build_structure(j, settings.markov_order)
    exact = j.n_channels <= settings.max_exact_channels
    pairs = shapley_pairs(j) if exact else None
    value = settings.markov_revenue_credit == "value_removal_effect"
    G, n, K1, R = len(j.length), j.n_clients, j.n_channels + 1, settings.bootstrap_resamples
    mean_rev = j.mean_order_value
    linear = _linear_credits(j, fractions, mean_rev)
    drawn = poisson_counts(j, settings)
    draws = {m: np.empty((R, 2, n, K1)) for m in MODELS}
    for lo in range(0, R, BOOTSTRAP_CHUNK):
        B = min(BOOTSTRAP_CHUNK, R - lo)
        cm = _expand(drawn, lo, lo + B, G)
        fc, c = cm[0], cm[0] + cm[1]  # (G, B) settled and all converting journeys, ...
        fj = fc + cm[2]  # ... and the settled journeys
        out = (linear @ c).T.reshape(B, len(RULE_MODELS) + 1, 2, n, K1)
        for i, model in enumerate(RULE_MODELS):
            draws[model][lo:lo + B] = out[:, i]
        totals = out[:, -1]  # (B, 2, n, K1): touched totals in column 0, untouched in column 1
        untouched = totals[..., 1:2]
        shares, value_shares = markov_shares_batch(structure, fj, fc,
                                                   fc * mean_rev[:, None] if value else None)
        credit_shares = np.stack([shares, value_shares if value else shares], axis=1)
        draws["markov"][lo:lo + B] = np.concatenate(
            [credit_shares * totals[..., :1], untouched], axis=-1)
        prior = resampled.columns(lo, lo + B)
        if exact:
            sc, sr = shapley_credits_batch(pairs, fj, fc, c, c * mean_rev[:, None], prior)
        else:
            sc, sr = map(np.stack, zip(*(
                shapley_attribution(j.with_weights(fj[:, b] + cm[1, :, b], c[:, b],
                                                   c[:, b] * mean_rev, cm[1, :, b]),
                                    prior.column(b), **shapley_options(settings),
                                    stream=lo + b + 1)
                for b in range(B))))
        draws["shapley"][lo:lo + B] = np.concatenate(
            [np.stack([sc, sr], axis=1), untouched], axis=-1)
    return draws


def _linear_credits(j: Journeys, fractions, mean_rev: np.ndarray) -> sp.csr_matrix:
    """The bootstrap's credits that are linear in the converting journeys c of the groups, as a
    matrix M ((rule models + 1) x 2 x n_clients x (K+1) rows, G columns) with credits = M @ c:
    per rule model its conversion and revenue credit (a group's journeys keep its mean order
    value), then the clients' touched (column 0) and untouched (column 1) conversions and
    revenue."""
    G, n, K1 = len(j.length), j.n_clients, j.n_channels + 1
    rows, cols, vals = [], [], []
    conv = np.flatnonzero(j.conversions > 0)  # the other groups never draw a conversion
    for i, model in enumerate(RULE_MODELS):
        for kind, (f, scale) in enumerate(zip(fractions[model], (np.ones(G), mean_rev))):
            g, ch = np.nonzero(f[conv])
            g = conv[g]
            rows.append(((i * 2 + kind) * n + j.client[g]) * K1 + ch)
            cols.append(g)
            vals.append(f[g, ch] * scale[g])
    touched = (j.length > 0).astype(np.int64)
    for kind, scale in enumerate((np.ones(G), mean_rev)):
        rows.append(((len(RULE_MODELS) * 2 + kind) * n + j.client) * K1 + 1 - touched)
        cols.append(np.arange(G))
        vals.append(scale)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=((len(RULE_MODELS) + 1) * 2 * n * K1, G))
