"""Markov-chain attribution of order 1 to 3 with exact removal effects (absorbing chain).

Model (Anderl et al. 2016, "Mapping the customer journey"; the ChannelAttribution package):
each journey of a client is a walk start -> s_1 -> ... -> s_n -> (conversion | null), where the
state s_t of an order-k chain is the tuple of the last k channels up to touch t (shorter at the
start of the journey). Transition probabilities are the observed transition counts over the
client's settled journeys (see ``journeys``) divided by the counts out of each state.
P(conversion) is the absorption probability into `conversion` from `start`, solved exactly: with Q the transient-to-transient
matrix and r the transient-to-conversion vector, x = (I - Q)^-1 r and P = x[start].

Removal effect of channel c: RE_c = 1 - P_-c / P, where P_-c is the same absorption probability
when every state containing c leads to null (its row of Q and r set to zero). Credit: the
client's touched conversions split in proportion to RE_c (normalised to sum 1), as in
ChannelAttribution.

Revenue (``markov_revenue_credit`` of ``AttributionSettings``):
- ``conversion_share`` (default): the client's touched revenue split by the same conversion
  shares RE_c / sum RE. This is not ChannelAttribution's value attribution: a channel whose
  journeys convert often but with small orders gets the revenue share of its conversions.
- ``value_removal_effect``: ChannelAttribution's ``var_value`` (the removal effect of the
  expected conversion value), computed exactly. The chain absorbs into conversion with a reward,
  the order value: r_v[s] = (value of the settled conversions ending in s, each at its group's
  mean order value) / (the counts out of s), so x_v = (I - Q)^-1 r_v is the expected conversion
  value from each state and V = x_v[start]; RE^v_c = 1 - V_-c / V on the same removed chains,
  and the touched revenue is split by RE^v_c / sum RE^v (ChannelAttribution estimates the same
  quantity by simulating paths). A client whose settled conversions carry no value keeps its
  conversion shares, so its revenue is still conserved.

Exact solution, no Monte-Carlo: all clients are solved together as one block-diagonal sparse
system (scipy SuperLU, natural order: the states of a client are numbered together, so the LU
fill stays inside the client blocks). P_-c only needs the sub-system of the states without c
(x = 0 on the others), A_NN x_N = r_N, solved on its own (smaller than the full system). At order
1 a client has a single state d holding c, and the block-inverse identity
(A_NN)^-1 = M_NN - M_Nd M_dN / M_dd (M = A^-1) gives P_-c = x[start] - M[start, d] x[d] / M[d, d]
from the one factorization of A: the columns M[:, d] of all clients and channels are K more
right-hand sides, and r_v (the value chain) one more. ``markov_shares_batch`` refits the chain
for many reweightings of the journeys (a bootstrap) on the same structure: counts by sparse
products, one solve per reweighting.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .journeys import Journeys


@dataclass(frozen=True)
class MarkovStructure:
    """States and edges of the chains of all clients; reweighted cheaply for a bootstrap."""

    order: int
    n_states: int  # transient states incl. one start state per client (the last n_clients)
    start: np.ndarray  # (n_clients,) start state of each client
    state_client: np.ndarray  # (n_states,) client of each state
    contains: np.ndarray  # (n_channels, n_states) bool: the state's tuple holds the channel
    edge_from: np.ndarray  # transient -> transient edges (unique)
    edge_to: np.ndarray
    edge_group: np.ndarray  # (E_obs,) group of each observed transition, ...
    edge_id: np.ndarray  # ... and its unique edge
    last_state: np.ndarray  # (G,) the last state of each group (-1 without touches)

    @cached_property
    def pattern(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """CSC pattern of I - Q (edges and diagonal): (indptr, indices, slot of each edge's value,
        values of I alone), so that the system of new weights is built without sorting."""
        n, e = self.n_states, len(self.edge_from)
        rows = np.concatenate([self.edge_from, np.arange(n)])
        cols = np.concatenate([self.edge_to, np.arange(n)])
        key, slot = np.unique(cols * n + rows, return_inverse=True)  # column-major order
        indptr = np.searchsorted(key, np.arange(n + 1) * n)
        identity = np.bincount(slot[e:], minlength=len(key)).astype(float)
        return indptr, key % n, slot[:e], identity

    @cached_property
    def incidence(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(edges x groups) transition counts and (states x groups) last-state indicator: the
        chain's counts for many weightings of the groups at once."""
        G, has = len(self.last_state), self.last_state >= 0
        edges = sp.csr_matrix((np.ones(len(self.edge_id)), (self.edge_id, self.edge_group)),
                              shape=(len(self.edge_from), G))
        last = sp.csr_matrix((np.ones(has.sum()), (self.last_state[has], np.flatnonzero(has))),
                             shape=(self.n_states, G))
        return edges, last


def build_structure(j: Journeys, order: int = 1) -> MarkovStructure:
    if order not in (1, 2, 3):
        raise ValueError(f"markov_order must be 1, 2 or 3, got {order}")
    K, G = j.n_channels, len(j.length)
    base = K + 1
    # the touches of all groups in path order (paths are left-aligned), with group and position
    first = np.cumsum(j.length) - j.length
    group = np.repeat(np.arange(G), j.length)
    idx = np.arange(len(group))
    pos = idx - first[group]
    ch = j.paths[j.paths >= 0]
    # code of the window of the last `order` channels at each touch (digits ch+1, 0 = none)
    code = ch + 1
    for lag in range(1, order):
        code = code + np.where(pos >= lag, ch[idx - lag] + 1, 0) * base**lag
    uniq, state = np.unique(j.client[group] * base**order + code, return_inverse=True)
    n_touch_states = len(uniq)
    start = n_touch_states + np.arange(j.n_clients)
    n_states = n_touch_states + j.n_clients
    codes = uniq % base**order
    digits = np.stack([(codes // base**i) % base - 1 for i in range(order)])  # (order, S)
    contains = np.zeros((K, n_states), dtype=bool)
    for i in range(order):
        ok = digits[i] >= 0
        contains[digits[i][ok], np.flatnonzero(ok)] = True
    # observed transitions into every touch: from start (first touch) or from the previous touch
    frm = np.where(pos > 0, state[idx - 1], start[j.client[group]])
    upair, eid = np.unique(frm * n_states + state, return_inverse=True)
    has = j.length > 0
    last = np.full(G, -1, dtype=np.int64)
    last[has] = state[first[has] + j.length[has] - 1]
    state_client = np.concatenate([uniq // base**order, np.arange(j.n_clients)])
    return MarkovStructure(order, n_states, start, state_client, contains, upair // n_states,
                           upair % n_states, group, eid, last)


@dataclass(frozen=True)
class MarkovResult:
    conversion_probability: np.ndarray  # (n_clients,) P(conversion) of the full chain
    removal_effects: np.ndarray  # (n_clients, n_channels)
    shares: np.ndarray  # (n_clients, n_channels) RE normalised per client (0 when no conversion)
    # with values: the value chain's (module docstring); value_shares falls back to shares
    expected_value: np.ndarray | None = None  # (n_clients,) V, expected conversion value
    value_removal_effects: np.ndarray | None = None  # (n_clients, n_channels)
    value_shares: np.ndarray | None = None  # (n_clients, n_channels)


def markov_attribution(j: Journeys, structure: MarkovStructure | None = None, order: int = 1,
                       value: bool = False) -> MarkovResult:
    """Removal effects and credit shares per client (see the module docstring), fitted on the
    settled journeys; with ``value``, also those of the expected conversion value."""
    s = structure or build_structure(j, order)
    n = s.n_states
    fj, fc = j.fit_journeys, j.fit_conversions
    through = np.bincount(s.edge_id, fj[s.edge_group], minlength=len(s.edge_from))
    has = s.last_state >= 0
    to_conv = np.bincount(s.last_state[has], fc[has], minlength=n)
    to_null = np.bincount(s.last_state[has], (fj - fc)[has], minlength=n)
    to_value = (np.bincount(s.last_state[has], (fc * j.mean_order_value)[has], minlength=n)
                if value else None)
    return _solve(s, through, to_conv, to_null, to_value)


def markov_shares_batch(s: MarkovStructure, journeys: np.ndarray, conversions: np.ndarray,
                        values: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray | None]:
    """Credit shares (B, n_clients, n_channels) of B reweightings of the groups of ``s``
    (settled journeys and conversions: (G, B)), each as ``markov_attribution`` of the
    reweighted journeys; with ``values`` (the settled conversions' value, (G, B)) also the
    value shares, else None."""
    edges, last = s.incidence
    through = edges @ journeys
    to_conv = last @ conversions
    to_null = last @ (journeys - conversions)
    to_value = None if values is None else last @ values
    fits = [_solve(s, through[:, b], to_conv[:, b], to_null[:, b],
                   None if to_value is None else to_value[:, b]) for b in range(journeys.shape[1])]
    return (np.stack([f.shares for f in fits]),
            None if values is None else np.stack([f.value_shares for f in fits]))


def _solve(s: MarkovStructure, through: np.ndarray, to_conv: np.ndarray, to_null: np.ndarray,
           to_value: np.ndarray | None = None) -> MarkovResult:
    """The chain of the given transition, conversion and null counts (and conversion value),
    solved exactly: every reward vector is one more right-hand side of the same systems."""
    n, K = s.n_states, s.contains.shape[0]
    out = np.bincount(s.edge_from, through, minlength=n) + to_conv + to_null
    inv = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    indptr, indices, slot, values = s.pattern
    values = values.copy()
    values[slot] -= through * inv[s.edge_from]  # A = I - Q
    A = sp.csc_matrix((values, indices, indptr), shape=(n, n))
    R = np.column_stack([to_conv] + ([] if to_value is None else [to_value])) * inv[:, None]
    m = R.shape[1]
    if s.order == 1:  # one state d per client and channel: block-inverse identity
        X = splu(A, permc_spec="NATURAL").solve(np.column_stack([R, s.contains.T]))
        x, M = X[:, :m], X[:, m:]
        base = x[s.start]  # (n_clients, m)
        removed = np.repeat(base[:, None, :], K, axis=1)  # (n_clients, K, m)
        ch, d = np.nonzero(s.contains)
        cl = s.state_client[d]
        st = s.start[cl]
        removed[cl, ch] = x[st] - (M[st, ch] / M[d, ch])[:, None] * x[d]
    else:  # one sub-system per channel: the states without it
        base = splu(A, permc_spec="NATURAL").solve(R)[s.start]
        removed = np.empty((len(s.start), K, m))
        for c in range(K):
            keep = np.flatnonzero(~s.contains[c])
            if len(keep) == n:
                removed[:, c] = base
                continue
            sub = A[keep][:, keep].tocsc()
            x = splu(sub, permc_spec="NATURAL").solve(R[keep])
            removed[:, c] = x[np.searchsorted(keep, s.start)]
    b = base[:, None, :]
    re = np.clip(np.divide(b - removed, b, out=np.zeros_like(removed), where=b > 0), 0.0, 1.0)
    total = re.sum(axis=1, keepdims=True)
    shares = np.divide(re, total, out=np.zeros_like(re), where=total > 0)
    if to_value is None:
        return MarkovResult(base[:, 0], re[..., 0], shares[..., 0])
    valued = total[:, :, 1] > 0
    return MarkovResult(base[:, 0], re[..., 0], shares[..., 0], base[:, 1], re[..., 1],
                        np.where(valued, shares[..., 1], shares[..., 0]))


def markov_end_probability(train: Journeys, test_groups: np.ndarray, order: int,
                           structure: MarkovStructure | None = None) -> np.ndarray:
    """P(conversion | the journey ends in its last state), from the training counts, for the
    groups ``test_groups`` (fallback: the client's conversion rate when the state is unseen);
    settled training journeys only."""
    s = structure or build_structure(train, order)
    has = s.last_state >= 0
    fj, fc = train.fit_journeys, train.fit_conversions
    conv = np.bincount(s.last_state[has], fc[has], minlength=s.n_states)
    ends = np.bincount(s.last_state[has], fj[has], minlength=s.n_states)
    rate = np.bincount(train.client, fc * (train.length > 0), train.n_clients) / \
        np.maximum(np.bincount(train.client, fj * (train.length > 0), train.n_clients), 1e-12)
    last = s.last_state[test_groups]
    seen = ends[last] > 0
    return np.where(seen, conv[last] / np.maximum(ends[last], 1e-12),
                    rate[train.client[test_groups]])
