"""Exact Shapley attribution of a conversion function over a set of journeys.

For a journey with channel set T the game is ``v(S) = f(S)`` for ``S`` a subset of ``T``, with
``f`` a table of conversion probabilities over every channel bitmask (``noisy_or`` gives the
simulator's, ``synergy.conversion_table`` the logistic one), and channel j's value is the classic
Shapley formula ``phi_j(T) = sum_{S subset T \\ {j}} |S|! (|T|-|S|-1)! / |T|! [f(S + j) - f(S)]``
(Shapley 1953), enumerated over the subsets. Journeys with identical channel sets are grouped;
sets are bitmasks over the channels, so all subsets are enumerated with array operations
(2^k x 2^k for k channels).
"""

from __future__ import annotations

import math

import numpy as np


def noisy_or(p: np.ndarray) -> np.ndarray:
    """f(mask) = 1 - prod_{j in mask} (1 - p_j) for every bitmask over len(p) channels."""
    k = len(p)
    masks = np.arange(2**k)
    bits = (masks[:, None] >> np.arange(k)) & 1
    return 1.0 - np.prod(np.where(bits == 1, 1.0 - p, 1.0), axis=1)


def shapley_by_set(f: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """phi[i, j]: Shapley value of channel j in the journey whose channel bitmask is sets[i],
    for the conversion-probability table ``f`` (2^k,)."""
    k = int(np.log2(len(f)))
    if len(f) != 2**k:
        raise ValueError(f"f must hold one value per channel bitmask (2^k), got {len(f)}")
    masks = np.arange(2**k)
    size = np.array([(m).bit_count() for m in masks])
    fact = np.array([math.factorial(i) for i in range(k + 1)], dtype=float)
    T = np.asarray(sets)[:, None]
    S = masks[None, :]
    subset = (S & T) == S
    nT, nS = size[sets][:, None], size[None, :]
    out = np.zeros((len(sets), k))
    for j in range(k):
        bit = 1 << j
        ok = subset & ((S & bit) == 0) & ((T & bit) != 0)
        w = np.where(ok, fact[np.minimum(nS, k)] * fact[np.clip(nT - nS - 1, 0, k)] / fact[nT], 0.0)
        out[:, j] = (w * (f[masks | bit] - f[masks])[None, :]).sum(axis=1)
    return out


def expected_credit(f: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """sum_T n_T phi_j(T) per channel j: channel j's Shapley credit of the expected conversions
    of the journeys, ``counts[mask]`` of them with channel set ``mask`` (sums to
    sum_T n_T f(T))."""
    sets = np.flatnonzero(counts)
    sets = sets[sets > 0]
    return (shapley_by_set(f, sets) * counts[sets][:, None]).sum(axis=0)


def shapley_shares(f: np.ndarray, counts: np.ndarray, conversions: np.ndarray | None = None) -> dict:
    """Channel shares of expected conversions over journeys grouped by channel-set bitmask.

    ``counts[mask]`` journeys had channel set ``mask``. The share of channel j is
    ``sum_T n_T phi_j(T) / sum_T n_T f(T)`` (phi sums to f(T) per journey). With ``conversions``
    the realised conversions are also split by ``phi_j(T) / f(T)``.
    """
    credit = expected_credit(f, counts)
    res = {"expected": credit / credit.sum()}
    if conversions is not None:
        sets = np.flatnonzero(counts)
        sets = sets[sets > 0]
        phi = shapley_by_set(f, sets)
        c = ((phi / f[sets][:, None]) * conversions[sets][:, None]).sum(axis=0)
        res["realised"] = c / c.sum()
    return res
