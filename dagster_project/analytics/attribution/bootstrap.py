"""Poisson bootstrap of every attribution model: all models refitted on each resample."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .journeys import Journeys
from .markov import build_structure, markov_shares_batch
from .settings import MODELS, RULE_MODELS, AttributionSettings
from .shapley import shapley_attribution, shapley_credits_batch, shapley_options, shapley_pairs
from .shapley_prior import ShapleyPrior, fit_shapley_prior, pooled_sets, refit

BOOTSTRAP_CHUNK = 4  # resamples refitted together (larger chunks only add memory traffic)


def bootstrap(j: Journeys, fractions, settings: AttributionSettings, structure=None,
              prior: ShapleyPrior | None = None) -> dict[str, np.ndarray]:
    """Per model, (resamples, 2, n_clients, K+1) bootstrap credits (conversions, revenue).

    The Shapley model's prior (the noisy-OR hazards q and the pooled channel-set rates) is
    refitted on every resample: when the clients follow it, the client-level empirical-Bayes
    weight is large, the prior is most of v, and its sampling error most of the pooled shares'
    error. Its weights k0 and k, hyperparameters, keep the values of ``prior`` (fitted on all
    journeys when not given).

    Every resample gets what ``model_credits`` gives on it, computed ``BOOTSTRAP_CHUNK``
    resamples at a time: their Poisson draws in one call (the same numbers, in the same order, as
    one resample at a time; a Poisson(0) draw is 0 and takes no random number, so only the
    groups' non-zero counts are drawn), the rule-based credits and the client totals as one
    sparse product (they are linear in the resampled conversions), the Markov chains on the
    shared ``structure`` (``markov_shares_batch``) and the exact Shapley credits over the shared
    subset pairs (``shapley_credits_batch``; beyond ``settings.max_exact_channels``,
    ``shapley_attribution``'s sampled credits of each resample, seeded by ``settings.seed``)."""
    rng = np.random.default_rng(settings.seed)
    structure = structure or build_structure(j, settings.markov_order)
    prior = prior or fit_shapley_prior(j, settings.prior_strength, settings.pooled_prior_strength)
    exact = j.n_channels <= settings.max_exact_channels
    pairs = shapley_pairs(j) if exact else None
    pool = pooled_sets(j)
    value = settings.markov_revenue_credit == "value_removal_effect"
    G, n, K1, R = len(j.length), j.n_clients, j.n_channels + 1, settings.bootstrap_resamples
    mean_rev = j.mean_order_value
    linear = _linear_credits(j, fractions, mean_rev)
    lam = np.stack([j.fit_conversions, j.conversions - j.fit_conversions, j.journeys - j.conversions])
    drawn = np.flatnonzero(lam > 0)
    draws = {m: np.empty((R, 2, n, K1)) for m in MODELS}
    for lo in range(0, R, BOOTSTRAP_CHUNK):
        B = min(BOOTSTRAP_CHUNK, R - lo)
        cm = np.zeros((3, G, B))
        cm.reshape(3 * G, B)[drawn] = rng.poisson(lam.ravel()[drawn], size=(B, len(drawn))).T
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
        resampled = refit(prior, j, fj, fc, pool)  # (K, B) hazards, (sets, B) pooled counts
        if exact:
            sc, sr = shapley_credits_batch(pairs, fj, fc, c, c * mean_rev[:, None], resampled)
        else:
            sc, sr = map(np.stack, zip(*(
                shapley_attribution(j.with_weights(fj[:, b] + cm[1, :, b], c[:, b],
                                                   c[:, b] * mean_rev, cm[1, :, b]),
                                    resampled.column(b), **shapley_options(settings))
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
