"""The fast exact paths of the attribution models against straightforward references.

- Markov removal effects (sub-systems, the order-1 block-inverse identity) against the chain
  written out from its definition: a dense transition matrix per client, the rows of the states
  holding the removed channel set to zero; the same for the value chain (rewards = order values);
- the batched refits of the bootstrap (Markov, Shapley) against one fit per reweighting;
- ``bootstrap`` against its plain form: one Poisson draw per client and resample from the
  client's stream as ``streams`` documents it (written out here) and one ``model_credits`` per
  resample (with the Shapley prior refitted on the resample, its weights kept); beyond the exact
  channel limit the bootstrap's sampled Shapley credits against the exact ones, within sampling
  error.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.attribution import MODELS, RULE_MODELS, AttributionSettings
from dagster_project.analytics.attribution.bootstrap import bootstrap, resample_counts
from dagster_project.analytics.attribution.credits import model_credits
from dagster_project.analytics.attribution.journeys import group_journeys
from dagster_project.analytics.attribution.markov import (
    build_structure,
    markov_attribution,
    markov_shares_batch,
)
from dagster_project.analytics.attribution.shapley import (
    shapley_attribution,
    shapley_credits_batch,
    shapley_pairs,
)
from dagster_project.analytics.attribution.shapley_prior import (
    PooledCounts,
    fit_shapley_prior,
    refit,
)
from dagster_project.devtools.attribution_fixtures import CHANNELS, random_journeys


def reference_removal_effects(df: pl.DataFrame, clients: tuple[str, ...], order: int,
                              value: bool = False) -> np.ndarray:
    """Removal effects (clients x channels) from the chain's definition, one dense solve each;
    with ``value`` those of the expected conversion value (absorbing into conversion from a state
    pays the mean order value of the journeys that converted there)."""
    out = np.zeros((len(clients), len(CHANNELS)))
    for i, client in enumerate(clients):
        moves, ends = defaultdict(float), defaultdict(lambda: np.zeros(3))
        for path, converted, revenue in df.filter(pl.col("client_id") == client).select(
                "channel_path", "converted", "revenue").iter_rows():
            if path is None:
                continue
            chans = path.split(" > ")
            state = ()  # start
            for t in range(len(chans)):
                nxt = tuple(chans[max(0, t - order + 1): t + 1])
                moves[state, nxt] += 1
                state = nxt
            ends[state][0 if converted else 1] += 1
            ends[state][2] += revenue if converted else 0.0
        states = sorted({s for pair in moves for s in pair}, key=lambda s: (len(s), s))
        at = {s: k for k, s in enumerate(states)}
        Q, conv, total = np.zeros((len(states),) * 2), np.zeros(len(states)), np.zeros(len(states))
        for (a, b), w in moves.items():
            Q[at[a], at[b]] += w
        for s, (c, m, v) in ends.items():
            conv[at[s]], total[at[s]] = (v if value else c), c + m
        total += Q.sum(axis=1)
        Q, r = Q / total[:, None], conv / total
        keeps = [np.ones(len(states), bool)] + [np.array([ch not in s for s in states])
                                                for ch in CHANNELS]
        p, *removed = (np.linalg.solve(np.eye(len(states)) - Q * keep[:, None], r * keep)[at[()]]
                       for keep in keeps)
        out[i] = np.clip(1 - np.array(removed) / p, 0, 1) if p > 0 else 0.0
    return out


@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_removal_effects_equal_the_chain_solved_from_its_definition(order):
    df = random_journeys(1)
    j = group_journeys(df)
    assert j.channels == tuple(CHANNELS)
    got = markov_attribution(j, order=order).removal_effects
    assert j.unsettled.sum() > 50  # the chain is fitted on the settled journeys only
    settled = df.filter(pl.col("is_settled"))
    np.testing.assert_allclose(got, reference_removal_effects(settled, j.clients, order), rtol=0,
                               atol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_value_removal_effects_equal_the_value_chain_solved_from_its_definition(order):
    """ChannelAttribution's var_value: the removal effects of the expected conversion value. Every
    journey settled, so a group's settled conversions at its mean order value are exactly the
    revenue of its converting journeys (the reference's rewards); the conversion removal
    effects are unchanged by asking for the value ones."""
    df = random_journeys(7).with_columns(is_settled=pl.lit(True))
    j = group_journeys(df)
    res = markov_attribution(j, order=order, value=True)
    np.testing.assert_allclose(res.value_removal_effects,
                               reference_removal_effects(df, j.clients, order, value=True),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.removal_effects, markov_attribution(j, order=order).removal_effects,
                               rtol=0, atol=1e-15)
    assert np.abs(res.value_removal_effects - res.removal_effects).max() > 0.01  # they differ


def reweightings(j, seed: int, B: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """B Poisson reweightings (G, B) of the journeys, conversions and revenue of the groups."""
    rng = np.random.default_rng(seed)
    c = rng.poisson(j.conversions[:, None], (len(j.length), B)).astype(float)
    n = c + rng.poisson((j.journeys - j.conversions)[:, None], (len(j.length), B))
    mean_rev = j.mean_order_value
    return n, c, c * mean_rev[:, None]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_batched_markov_refits_equal_one_fit_per_reweighting(order):
    j = group_journeys(random_journeys(2))
    s = build_structure(j, order)
    n, c, r = reweightings(j, 3)
    got, got_value = markov_shares_batch(s, n, c, r)
    for b in range(n.shape[1]):
        ref = markov_attribution(j.with_weights(n[:, b], c[:, b], r[:, b]), s, value=True)
        np.testing.assert_allclose(got[b], ref.shares, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got_value[b], ref.value_shares, rtol=0, atol=1e-12)
    assert markov_shares_batch(s, n, c)[1] is None


@pytest.mark.parametrize("prior_strength, refitted", [(0.5, False), (10.0, False), (300.0, True)])
def test_batched_shapley_credits_equal_the_exact_shapley_of_each_reweighting(prior_strength, refitted):
    j = group_journeys(random_journeys(4, clients=4))
    prior = fit_shapley_prior(j, prior_strength)
    assert 0 < prior.pooled_strength < np.inf and prior.strength == prior_strength
    n, c, r = reweightings(j, 5)
    u = np.floor(c * 0.3)  # unsettled conversions: credited, not fitted on
    if refitted:  # one prior per reweighting, fitted on it (the weights kept)
        prior = refit(prior, PooledCounts.of(j, n - u, c - u))
        assert prior.q.shape == (j.n_channels, n.shape[1])
        one = fit_shapley_prior(j.with_weights(n[:, 2], c[:, 2], r[:, 2], u[:, 2]),
                                prior.strength, prior.pooled_strength)
        np.testing.assert_allclose(prior.column(2).q, one.q)
        np.testing.assert_allclose(prior.column(2).rate(np.arange(32)), one.rate(np.arange(32)))
    conv, rev = shapley_credits_batch(shapley_pairs(j), n - u, c - u, c, r, prior)
    for b in range(n.shape[1]):
        ref_c, ref_r = shapley_attribution(j.with_weights(n[:, b], c[:, b], r[:, b], u[:, b]),
                                           prior.column(b) if refitted else prior,
                                           max_exact_channels=15, tol=1e-3,
                                           max_permutations=20_000, seed=0)
        np.testing.assert_allclose(conv[b], ref_c, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(rev[b], ref_r, rtol=1e-10, atol=1e-8)
    # credits conserve each reweighting's touched conversions
    touched = j.length > 0
    totals = np.stack([np.bincount(j.client[touched], c[touched, b], j.n_clients)
                       for b in range(n.shape[1])])
    np.testing.assert_allclose(conv.sum(axis=2), totals, rtol=1e-12)


def random_fractions(j, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Rule-based shares per group x (channels + '(none)'), as ``rule_fractions`` shapes them."""
    rng = np.random.default_rng(seed)
    G, K = len(j.length), j.n_channels
    present = np.zeros((G, K + 1), bool)
    for pos in range(j.paths.shape[1]):
        ok = j.paths[:, pos] >= 0
        present[np.flatnonzero(ok), j.paths[ok, pos]] = True
    present[:, K] = j.length == 0
    out = {}
    for model in RULE_MODELS:
        f = [rng.random((G, K + 1)) * present for _ in range(2)]
        f = [x / x.sum(axis=1, keepdims=True) * (w > 0)[:, None]
             for x, w in zip(f, (j.conversions, j.revenue))]
        out[model] = (f[0], f[1])
    return out


def client_stream(seed: int, purpose: int, client: str) -> np.random.Generator:
    """A client's stream as the ``streams`` docstring defines it: the SeedSequence of (seed,
    purpose, the first 8 bytes of the BLAKE2b digest of the id, read little-endian)."""
    digest = int.from_bytes(hashlib.blake2b(client.encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(np.random.SeedSequence([seed, purpose, digest]))


def plain_bootstrap(j, fractions, settings, structure, prior) -> dict[str, np.ndarray]:
    """One Poisson draw per client (its stream, purpose 0: its groups' settled conversions,
    unsettled conversions, non-converting journeys) and one ``model_credits`` per resample."""
    rngs = [client_stream(settings.seed, 0, c) for c in j.clients]
    mean_rev = j.mean_order_value
    lam = np.stack([j.fit_conversions, j.conversions - j.fit_conversions, j.journeys - j.conversions])
    draws = defaultdict(list)
    for _ in range(settings.bootstrap_resamples):
        drawn = np.zeros_like(lam)
        for i, rng in enumerate(rngs):
            g = np.flatnonzero(j.client == i)
            drawn[:, g] = rng.poisson(lam[:, g])
        settled, unsettled, m = drawn
        c = settled + unsettled
        jb = j.with_weights(c + m, c, c * mean_rev, unsettled)
        refitted = fit_shapley_prior(jb, prior.strength, prior.pooled_strength)
        credits = model_credits(jb, fractions, settings, refitted, structure)
        for model, (cc, rr) in credits.items():
            draws[model].append(np.stack([cc, rr]))
    return {m: np.stack(v) for m, v in draws.items()}


@pytest.mark.parametrize("order, revenue_credit", [(1, "conversion_share"), (3, "conversion_share"),
                                                   (2, "value_removal_effect")])
def test_bootstrap_equals_one_model_fit_per_resample_with_the_same_draws(order, revenue_credit):
    j = group_journeys(random_journeys(6))
    fractions = random_fractions(j, 7)
    settings = AttributionSettings(markov_order=order, markov_revenue_credit=revenue_credit,
                                   bootstrap_resamples=7, seed=11)
    structure = build_structure(j, order)
    prior = fit_shapley_prior(j)
    got = bootstrap(j, fractions, settings, refit(prior, resample_counts(j, settings)), structure)
    ref = plain_bootstrap(j, fractions, settings, structure, prior)
    assert set(got) == set(ref) == set(MODELS)
    for model in MODELS:
        assert got[model].shape == ref[model].shape == (7, 2, j.n_clients, len(CHANNELS) + 1)
        np.testing.assert_allclose(got[model], ref[model], rtol=1e-10, atol=1e-9)


def test_a_bootstrap_whose_last_chunk_holds_one_resample_equals_the_plain_one():
    """5 resamples: chunks of 4 and 1 (a one-column prior table used to be a read-only view)."""
    j = group_journeys(random_journeys(6))
    fractions = random_fractions(j, 7)
    settings = AttributionSettings(bootstrap_resamples=5, seed=2)
    structure = build_structure(j, 1)
    prior = fit_shapley_prior(j)
    got = bootstrap(j, fractions, settings, refit(prior, resample_counts(j, settings)), structure)
    ref = plain_bootstrap(j, fractions, settings, structure, prior)
    for model in MODELS:
        np.testing.assert_allclose(got[model], ref[model], rtol=1e-10, atol=1e-9)


def test_bootstrap_beyond_the_exact_channel_limit_samples_the_shapley_credits_within_their_error():
    """With max_exact_channels 2 (5 channels present) every resample's Shapley credits are
    sampled (permutation sampling until each channel's standard error is <= tol x the client's
    resampled total, conversions and revenue); the other models are exactly the plain ones. The
    reference is the exact Shapley of the same draws: each sampled credit lies within 5 standard
    errors, 5 tol x total (for the 7 x 3 x 5 x 2 = 210 comparisons of these fixed seeds,
    P(any beyond) ~ 1e-4 under the normal approximation)."""
    j = group_journeys(random_journeys(6))
    fractions = random_fractions(j, 7)
    tol = 5e-3
    sampled = AttributionSettings(bootstrap_resamples=7, seed=11, max_exact_channels=2,
                                  shapley_tolerance=tol, shapley_max_permutations=10**7)
    exact = AttributionSettings(bootstrap_resamples=7, seed=11)
    structure = build_structure(j, 1)
    prior = fit_shapley_prior(j)
    got = bootstrap(j, fractions, sampled, refit(prior, resample_counts(j, sampled)), structure)
    ref = plain_bootstrap(j, fractions, exact, structure, prior)
    for model in MODELS[:-1]:
        np.testing.assert_allclose(got[model], ref[model], rtol=1e-10, atol=1e-9)
    totals = ref["linear"].sum(axis=-1, keepdims=True) - ref["linear"][..., -1:]  # touched
    diff = np.abs(got["shapley"] - ref["shapley"])
    assert (diff <= 5 * tol * totals).all()
    assert diff.max() > 1e-9  # sampled, not the exact credits
    np.testing.assert_allclose(got["shapley"].sum(axis=-1)[:, 0], ref["shapley"].sum(axis=-1)[:, 0],
                               rtol=1e-9)  # every permutation conserves
