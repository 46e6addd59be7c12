"""Markov-chain attribution of order 1 to 3 with exact removal effects (absorbing chain).

Model (Anderl et al. 2016, "Mapping the customer journey"; the ChannelAttribution package):
each journey of a client is a walk start -> s_1 -> ... -> s_n -> (conversion | null), where the
state s_t of an order-k chain is the tuple of the last k channels up to touch t (shorter at the
start of the journey). Transition probabilities are the observed transition counts over all the
client's journeys divided by the counts out of each state. P(conversion) is the absorption
probability into `conversion` from `start`, solved exactly: with Q the transient-to-transient
matrix and r the transient-to-conversion vector, x = (I - Q)^-1 r and P = x[start].

Removal effect of channel c: RE_c = 1 - P_-c / P, where P_-c is the same absorption probability
when every state containing c leads to null (its row of Q and r set to zero). Credit: the
client's touched conversions (and revenue) split in proportion to RE_c (normalised to sum 1),
as in ChannelAttribution. All clients are solved together as one block-diagonal sparse system
(scipy SuperLU), one solve for the full chain plus one per channel: exact, no Monte-Carlo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from .attribution_journeys import Journeys


@dataclass(frozen=True)
class MarkovStructure:
    """States and edges of the chains of all clients; reweighted cheaply for a bootstrap."""

    order: int
    n_states: int  # transient states incl. one start state per client (the last n_clients)
    start: np.ndarray  # (n_clients,) start state of each client
    contains: np.ndarray  # (n_channels, n_states) bool: the state's tuple holds the channel
    edge_from: np.ndarray  # transient -> transient edges (unique)
    edge_to: np.ndarray
    edge_group: np.ndarray  # (E_obs,) group of each observed transition, ...
    edge_id: np.ndarray  # ... and its unique edge
    last_state: np.ndarray  # (G,) the last state of each group (-1 without touches)


def build_structure(j: Journeys, order: int = 1) -> MarkovStructure:
    if order not in (1, 2, 3):
        raise ValueError("Markov order must be 1, 2 or 3")
    K, G, L = j.n_channels, len(j.length), j.paths.shape[1]
    base = K + 1
    valid = j.paths >= 0
    # code of the window of the last `order` channels at each position (digits ch+1, 0 = none)
    code = np.zeros((G, L), dtype=np.int64)
    for lag in range(order):
        shifted = np.full((G, L), -1, dtype=np.int64)
        shifted[:, lag:] = j.paths[:, : L - lag] if lag else j.paths
        code += (shifted + 1) * base**lag
    key = j.client[:, None] * base**order + code
    uniq, inverse = np.unique(key[valid], return_inverse=True)
    n_touch_states = len(uniq)
    state = np.full((G, L), -1, dtype=np.int64)
    state[valid] = inverse
    start = n_touch_states + np.arange(j.n_clients)
    n_states = n_touch_states + j.n_clients
    codes = uniq % base**order
    digits = np.stack([(codes // base**i) % base - 1 for i in range(order)])  # (order, S)
    contains = np.zeros((K, n_states), dtype=bool)
    for i in range(order):
        ok = digits[i] >= 0
        contains[digits[i][ok], np.flatnonzero(ok)] = True
    # observed transitions: start -> s_1 and s_t -> s_t+1
    has = j.length > 0
    g_idx = np.flatnonzero(has)
    frm = [start[j.client[g_idx]]]
    to = [state[g_idx, 0]]
    grp = [g_idx]
    for t in range(L - 1):
        ok = valid[:, t + 1]
        frm.append(state[ok, t])
        to.append(state[ok, t + 1])
        grp.append(np.flatnonzero(ok))
    frm, to, grp = np.concatenate(frm), np.concatenate(to), np.concatenate(grp)
    pair = frm * n_states + to
    upair, eid = np.unique(pair, return_inverse=True)
    last = np.where(has, state[np.arange(G), np.maximum(j.length - 1, 0)], -1)
    return MarkovStructure(order, n_states, start, contains, upair // n_states, upair % n_states,
                           grp, eid, last)


@dataclass(frozen=True)
class MarkovResult:
    conversion_probability: np.ndarray  # (n_clients,) P(conversion) of the full chain
    removal_effects: np.ndarray  # (n_clients, n_channels)
    shares: np.ndarray  # (n_clients, n_channels) RE normalised per client (0 when no conversion)


def markov_attribution(j: Journeys, structure: MarkovStructure | None = None, order: int = 1
                       ) -> MarkovResult:
    """Removal effects and credit shares per client (see the module docstring)."""
    s = structure or build_structure(j, order)
    n = s.n_states
    through = np.bincount(s.edge_id, j.journeys[s.edge_group], minlength=len(s.edge_from))
    has = s.last_state >= 0
    to_conv = np.bincount(s.last_state[has], j.conversions[has], minlength=n)
    to_null = np.bincount(s.last_state[has], (j.journeys - j.conversions)[has], minlength=n)
    out = np.bincount(s.edge_from, through, minlength=n) + to_conv + to_null
    inv = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    Q = sp.csr_matrix((through * inv[s.edge_from], (s.edge_from, s.edge_to)), shape=(n, n))
    r = to_conv * inv
    A = (sp.identity(n, format="csr") - Q).tocsr()
    base = spsolve(A.tocsc(), r)[s.start]
    K = s.contains.shape[0]
    removed = np.zeros((len(s.start), K))
    for c in range(K):  # one exact solve per channel
        drop = s.contains[c]
        if not drop.any():
            removed[:, c] = base
            continue
        keep = sp.diags((~drop).astype(float))
        A_c = (keep @ A + sp.diags(drop.astype(float))).tocsc()
        removed[:, c] = spsolve(A_c, r * ~drop)[s.start]
    re = np.divide(base[:, None] - removed, base[:, None], out=np.zeros_like(removed),
                   where=base[:, None] > 0)
    re = np.clip(re, 0.0, 1.0)
    total = re.sum(axis=1, keepdims=True)
    shares = np.divide(re, total, out=np.zeros_like(re), where=total > 0)
    return MarkovResult(base, re, shares)


def markov_end_probability(train: Journeys, test_groups: np.ndarray, order: int,
                           structure: MarkovStructure | None = None) -> np.ndarray:
    """P(conversion | the journey ends in its last state), from the training counts, for the
    groups ``test_groups`` (fallback: the client's conversion rate when the state is unseen)."""
    s = structure or build_structure(train, order)
    has = s.last_state >= 0
    conv = np.bincount(s.last_state[has], train.conversions[has], minlength=s.n_states)
    ends = np.bincount(s.last_state[has], train.journeys[has], minlength=s.n_states)
    rate = np.bincount(train.client, train.conversions * (train.length > 0), train.n_clients) / \
        np.maximum(np.bincount(train.client, train.journeys * (train.length > 0),
                               train.n_clients), 1e-12)
    last = s.last_state[test_groups]
    seen = ends[last] > 0
    return np.where(seen, conv[last] / np.maximum(ends[last], 1e-12),
                    rate[train.client[test_groups]])
