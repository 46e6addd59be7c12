"""A second planted attribution truth whose conversion function is not noisy-OR.

The main simulator converts a journey by noisy-OR, the very curve the Shapley model's value
function shrinks towards, so recovering its truth partly holds by construction. Here a journey
with channel set T (non-empty) of a client in segment s converts with the logistic probability

    f_s(T) = sigmoid(BASE_LOGIT + SEGMENT_OFFSETS[s] + sum_{j in T} MAIN_EFFECTS[j]
                     + sum_{{j, k} subset T} PAIR_EFFECTS[j, k]),     f_s(empty) = 0,

with complementary pairs (positive interactions: email with paid search, YouTube with organic
search, Instagram with TikTok) and substitute pairs (negative: paid and organic search capture the
same intent, referral and direct the same recommendation). On the log-odds scale effects add, so
two weak channels together convert far more than noisy-OR allows; a substitute pair converts
more than either channel alone but less than their noisy-OR combination. Clients differ in conversion propensity (three
segments) and in channel exposure (each channel's simulator exposure rate times a client-level
log-normal factor), so clients do not share one curve either.

Journeys: each client has Poisson(Gamma) journeys (heavy-tailed sizes: many clients below the
data-driven models' thresholds), each with its own end-customer (so journeys never interleave
and the warehouse rebuilds exactly these journeys), decision times spread over ``days`` days
after a first lookback, and 1 + Poisson(EXTRA_TOUCHES_MEAN) touches per exposed channel at
uniform times in the lookback before the decision, as in ``world``. Orders carry Gamma revenue.

Truth (``shapley_share``): each channel's exact Shapley share of the EXPECTED conversions over
the simulated journeys' channel sets, sum_s sum_T n_sT phi_j(T; f_s) / sum_s sum_T n_sT f_s(T),
enumerated over the subsets (``shapley.expected_credit``), as ``attribution.json``'s
``shapley_share`` is for noisy-OR.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from dagster_project.simulator import params as P
from dagster_project.simulator.ids import US_PER_DAY, day_us, make_ids, pick, ts
from dagster_project.simulator.shapley import expected_credit

CHANNELS = P.CHANNELS
START = dt.date(2025, 1, 1)
BASE_LOGIT = -3.4
SEGMENT_OFFSETS = (-0.5, 0.0, 0.5)  # client conversion propensity (log-odds), equally likely
MAIN_EFFECTS = {"instagram": 0.6, "tiktok": 0.3, "youtube": 0.8, "linkedin": 0.7, "twitter": 0.1,
                "facebook": 0.1, "email": 1.0, "paid_search": 1.4, "organic_search": 1.1,
                "referral": 1.9, "direct": 1.6}
PAIR_EFFECTS = {("email", "paid_search"): 0.9, ("youtube", "organic_search"): 0.7,
                ("instagram", "tiktok"): 0.6, ("paid_search", "organic_search"): -0.9,
                ("referral", "direct"): -1.4}
EXPOSURE_SPREAD = 0.3  # sd of the client's log exposure factor
MEAN_ORDER_VALUE = 60.0


@dataclass(frozen=True)
class SynergyJourneys:
    touchpoints: pl.DataFrame  # the landing contract's touchpoints columns
    conversions: pl.DataFrame  # the landing contract's conversions columns
    truth: dict  # channels, shapley_share, journeys, converted_journeys, parameters


def conversion_table(offset: float = 0.0) -> np.ndarray:
    """f(mask) for every bitmask over CHANNELS: the logistic conversion probability of a journey
    with that channel set in a segment with log-odds ``offset`` (f(empty) = 0)."""
    k = len(CHANNELS)
    bits = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(float)
    logit = BASE_LOGIT + offset + bits @ np.array([MAIN_EFFECTS[c] for c in CHANNELS])
    for (a, b), g in PAIR_EFFECTS.items():
        logit += g * bits[:, CHANNELS.index(a)] * bits[:, CHANNELS.index(b)]
    f = 1.0 / (1.0 + np.exp(-logit))
    f[0] = 0.0
    return f


def synergy_journeys(n_clients: int = 1000, seed: int = 0, days: int = 180,
                     mean_journeys: float = 300.0) -> SynergyJourneys:
    """Touches, orders and the Shapley truth of ``n_clients`` clients (see the module docstring);
    the same arguments give the same rows."""
    if n_clients < 1 or days < 1 or mean_journeys <= 0:
        raise ValueError("n_clients and days must be >= 1 and mean_journeys > 0")
    g = np.random.default_rng([seed, 9])
    k = len(CHANNELS)
    segment = g.integers(0, len(SEGMENT_OFFSETS), n_clients)
    exposure = np.clip(np.array([P.EXPOSURE[c] for c in CHANNELS])
                       * np.exp(g.normal(0.0, EXPOSURE_SPREAD, (n_clients, k))), 0.005, 0.9)
    shape = 0.8  # Gamma-Poisson journeys per client: mean mean_journeys, coefficient of variation ~1.1
    per_client = g.poisson(g.gamma(shape, mean_journeys / shape, n_clients))
    client = np.repeat(np.arange(n_clients), per_client)
    x = g.random((len(client), k)) < exposure[client]
    touched = x.any(axis=1)  # an opportunity without a touch never converts and leaves no row
    client, x = client[touched], x[touched]
    m = len(client)
    mask = (x * (1 << np.arange(k))).sum(axis=1)
    tables = np.stack([conversion_table(o) for o in SEGMENT_OFFSETS])
    converted = g.random(m) < tables[segment[client], mask]
    counts = np.zeros((len(SEGMENT_OFFSETS), 2**k))
    np.add.at(counts, (segment[client], mask), 1)
    credit = sum(expected_credit(tables[s], counts[s]) for s in range(len(SEGMENT_OFFSETS)))

    base = day_us(START, 0)
    t_dec = (P.LOOKBACK_DAYS + g.integers(0, days, m)) * US_PER_DAY + g.integers(
        8 * 3_600_000_000, 23 * 3_600_000_000, m)
    nt = (x * (1 + g.poisson(P.EXTRA_TOUCHES_MEAN, x.shape))).ravel()
    tj = np.repeat(np.repeat(np.arange(m), k), nt)
    tch = np.repeat(np.tile(np.arange(k), m), nt)
    tt = t_dec[tj] - g.integers(0, (P.LOOKBACK_DAYS - 1) * US_PER_DAY, len(tj))
    client_ids = make_ids("cl-", np.arange(n_clients), 6)
    customer_ids = make_ids("cu-", np.arange(m), 9)
    touchpoints = pl.DataFrame({
        "touchpoint_id": make_ids("tp-", np.arange(len(tj)), 10),
        "client_id": client_ids.gather(client[tj]),
        "customer_id": customer_ids.gather(tj),
        "channel": pick(CHANNELS, tch),
        "campaign_id": pl.Series([None] * len(tj), dtype=pl.String),
        "content_id": pl.Series([None] * len(tj), dtype=pl.String),
        "touched_at": ts(tt + base),
    })
    cj = np.flatnonzero(converted)
    conversions = pl.DataFrame({
        "conversion_id": make_ids("cv-", np.arange(len(cj)), 10),
        "client_id": client_ids.gather(client[cj]),
        "customer_id": customer_ids.gather(cj),
        "converted_at": ts(t_dec[cj] + base),
        "revenue": np.round(g.gamma(6.0, MEAN_ORDER_VALUE / 6.0, len(cj)), 2),
        "order_type": pl.Series(["first"] * len(cj), dtype=pl.String),
    })
    truth = {
        "channels": list(CHANNELS),
        "conversion_function": "logistic with pairwise interactions, per client segment "
                               "(see dagster_project.simulator.synergy)",
        "base_logit": BASE_LOGIT, "segment_offsets": list(SEGMENT_OFFSETS),
        "main_effects": MAIN_EFFECTS,
        "pair_effects": {f"{a}+{b}": v for (a, b), v in PAIR_EFFECTS.items()},
        "shapley_share": dict(zip(CHANNELS, map(float, credit / credit.sum()))),
        "journeys": int(m), "converted_journeys": len(cj), "clients": int(n_clients),
    }
    return SynergyJourneys(touchpoints, conversions, truth)
