"""Attribution models against published vectors, hand computations and second methods.

Published vectors: the test suite of the `mta` Python package (eeghor/mta) and the Markov
example of Anderl et al. / ChannelAttribution, as restated in issue 4. The Shapley values are
checked against the simulator's independent exact implementation (dagster_project.simulator.shapley).
The recommended-model rules, the conservation check and the journey input rules have a test per
branch, on journeys built so that the expected outcome follows from their construction.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.attribution import (
    AttributionSettings,
    attribute,
    channel_roi,
    conservation_errors,
)
from dagster_project.analytics.attribution.journeys import Journeys, group_journeys
from dagster_project.analytics.attribution.markov import markov_attribution
from dagster_project.analytics.attribution.post_impact import post_revenue_impact
from dagster_project.analytics.attribution.shapley import shapley_attribution
from dagster_project.analytics.attribution.shapley_prior import (
    ShapleyPrior,
    fit_noisy_or,
    fit_shapley_prior,
    fit_strength,
)
from dagster_project.devtools.attribution_fixtures import journeys, rule_credits_for
from dagster_project.simulator.shapley import noisy_or, shapley_by_set

MTA = [("c1", "direct", 2, 1), ("c1", "search > email", 3, 2), ("c1", "search > social > email", 5, 4)]


def test_markov_order_1_removal_effects_match_the_published_example():
    j = group_journeys(journeys([("c", "a > b", 3, 1), ("c", "a > c", 1, 1)]))
    res = markov_attribution(j, order=1)
    assert res.removal_effects[0] == pytest.approx([1.0, 0.75, 0.25], abs=1e-12)
    assert (res.shares[0] * 4) == pytest.approx([2.0, 1.5, 0.5], abs=1e-12)


def test_markov_credit_for_conversions_and_revenue_through_attribute():
    df = journeys([("c", "a > b", 3, 1), ("c", "a > c", 1, 1)])
    out = attribute(df, rule_credits_for(df), AttributionSettings(bootstrap_resamples=0))
    mk = out.channel_attribution.filter(pl.col("attribution_model") == "markov").sort("channel")
    assert mk["attributed_conversions"].to_list() == pytest.approx([2.0, 1.5, 0.5])
    assert mk["attributed_revenue"].to_list() == pytest.approx([20.0, 15.0, 5.0])


@pytest.mark.parametrize("order", [2, 3])
def test_higher_order_markov_without_shared_history_equals_order_1(order):
    # with journeys of distinct channels only, every state's future is the same at any order here
    j = group_journeys(journeys([("c", "a > b", 3, 1), ("c", "a > c", 1, 1)]))
    res = markov_attribution(j, order=order)
    assert res.removal_effects[0] == pytest.approx([1.0, 0.75, 0.25], abs=1e-12)


def test_markov_clients_are_solved_independently():
    df = journeys([("c1", "a > b", 3, 1), ("c1", "a > c", 1, 1), ("c2", "b", 1, 3), ("c2", "c > b", 2, 0)])
    both = markov_attribution(group_journeys(df), order=2).removal_effects
    alone = markov_attribution(group_journeys(df.filter(pl.col("client_id") == "c1")), order=2)
    assert both[0] == pytest.approx(alone.removal_effects[0], abs=1e-12)


def test_rule_based_credits_regroup_to_the_mta_vectors():
    df = journeys(MTA)
    out = attribute(df, rule_credits_for(df), AttributionSettings(bootstrap_resamples=0))
    got = {(m, c): v for m, c, v in out.channel_attribution.select(
        "attribution_model", "channel", "attributed_conversions").iter_rows()}
    assert got[("first_touch", "search")] == pytest.approx(8) and got[("first_touch", "direct")] == 2
    assert got[("last_touch", "email")] == pytest.approx(8)
    assert got[("linear", "search")] == pytest.approx(19 / 6)
    assert got[("linear", "social")] == pytest.approx(5 / 3)
    assert got[("position_based", "search")] == pytest.approx(3.5)
    assert got[("position_based", "social")] == pytest.approx(1.0)


def noisy_or_prior(q: np.ndarray, strength: float = 1e15) -> ShapleyPrior:
    """A prior that is the noisy-OR curve of hazards q (no pooled sets) with weight ``strength``."""
    return ShapleyPrior(q, 1e15, strength, np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))


EXACT = {"max_exact_channels": 15, "tol": 1e-3, "max_permutations": 20_000, "seed": 0}


def test_exact_shapley_equals_the_simulators_independent_formula():
    p = np.array([0.1, 0.2, 0.3, 0.05, 0.15])
    df = journeys([("c", "a > b", 2, 0), ("c", "a > c > d > e", 1, 0), ("c", "b > e", 3, 0)])
    j = group_journeys(df)
    conv, rev = shapley_attribution(j, noisy_or_prior(-np.log1p(-p)), **EXACT)
    sets = np.array([0b00011, 0b11101, 0b10010])
    phi = shapley_by_set(noisy_or(p), sets) / noisy_or(p)[sets][:, None]
    assert conv[0] == pytest.approx((phi * np.array([2, 1, 3])[:, None]).sum(0), rel=1e-9)
    assert rev[0] == pytest.approx(10 * (phi * np.array([2, 1, 3])[:, None]).sum(0), rel=1e-9)


def test_permutation_sampling_agrees_with_the_exact_shapley_within_its_sampling_error():
    """The sampled path (more channels than max_exact_channels) stops once the standard error of
    every channel's conversion and revenue credit is <= tol x the client's total; so each sampled
    credit lies within 5 standard errors, 5 tol x total, of the exact one (for the 2 x 5
    comparisons of this fixed seed, P(any beyond) ~ 6e-6 under the normal approximation), and
    every permutation conserves the conversions exactly."""
    df = journeys([("c", "a > b", 2, 1), ("c", "a > c > d > e", 3, 2), ("c", "b > e", 3, 3),
                   ("c", "c > d", 2, 2)])
    j = group_journeys(df)
    prior = fit_shapley_prior(j)
    exact = shapley_attribution(j, prior, **EXACT)
    tol = 2e-3
    sampled = shapley_attribution(j, prior, max_exact_channels=2, tol=tol,
                                  max_permutations=10**7, seed=3)
    for got, want, total in zip(sampled, exact, (10.0, 100.0)):
        assert np.abs(got[0] - want[0]).max() <= 5 * tol * total
        assert not np.allclose(got[0], want[0], rtol=0, atol=1e-9)  # sampled, not exact
    assert sampled[0][0].sum() == pytest.approx(10.0, rel=1e-9)
    with pytest.raises(ValueError, match="max_exact_channels must be >= 1"):
        shapley_attribution(j, prior, **(EXACT | {"max_exact_channels": 0}))


def test_noisy_or_fit_recovers_the_generating_probabilities():
    rng = np.random.default_rng(0)
    p = np.array([0.05, 0.2, 0.1, 0.3])
    masks = np.arange(1, 16)
    n = np.full(15, 4000.0)
    c = rng.binomial(4000, noisy_or(p)[masks]).astype(float)
    q = fit_noisy_or(masks, n, c, 4)
    assert -np.expm1(-q) == pytest.approx(p, abs=0.01)


def cells(rates: np.ndarray, n: int, seed: int) -> Journeys:
    """Journeys of 300 clients x the 15 channel sets over 4 channels, n per cell, converting
    with the given per-cell rates (clients x 15)."""
    rng = np.random.default_rng(seed)
    clients, sets = np.meshgrid(np.arange(300), np.arange(1, 16), indexing="ij")
    paths = np.full((clients.size, 4), -1)
    for ch in range(4):  # a path that touches exactly the channels of the set, in order
        has = (sets.ravel() >> ch) & 1 == 1
        paths[has, (np.cumsum((sets.ravel()[:, None] >> np.arange(4)) & 1, axis=1)[has, ch] - 1)] = ch
    conv = rng.binomial(n, rates.ravel()).astype(float)
    return Journeys(tuple("abcd"), tuple(map(str, range(300))), clients.ravel(), paths,
                    (paths >= 0).sum(axis=1), np.full(clients.size, float(n)), conv, 10 * conv)


def test_empirical_bayes_prior_strength_recovers_the_spread_of_client_rates():
    """Client rates of a set drawn from Beta(k m, k (1 - m)) around m give back k; clients that
    all follow m give a k far above a cell's 60 journeys (the likelihood is flat there, so the
    maximiser is large)."""
    p = np.array([0.05, 0.2, 0.1, 0.3])
    m = np.tile(noisy_or(p)[np.arange(1, 16)], 300)
    rng = np.random.default_rng(0)
    for k in (5.0, 40.0):
        rates = rng.beta(k * m, k * (1 - m))
        one_per_cell = cells(rates.reshape(300, 15), 60, 1)  # one group per client x set
        assert fit_strength(one_per_cell.journeys, one_per_cell.conversions, m) == \
            pytest.approx(k, rel=0.2)
    on_curve = cells(m.reshape(300, 15), 60, 2)
    assert fit_strength(on_curve.journeys, on_curve.conversions, m) > 1000


def synergy_rates() -> np.ndarray:
    """A conversion curve over the 15 sets of 4 channels that noisy-OR cannot fit: logistic with
    a strong complement pair (a, b) and a substitute pair (c, d)."""
    bits = (np.arange(1, 16)[:, None] >> np.arange(4)) & 1
    logit = -2.5 + bits @ np.array([0.4, 0.3, 0.9, 0.8]) + 1.5 * bits[:, 0] * bits[:, 1] \
        - 1.2 * bits[:, 2] * bits[:, 3]
    return 1 / (1 + np.exp(-logit))


def test_pooled_rates_learn_a_curve_all_clients_share_when_it_is_not_noisy_or():
    """300 clients x 15 sets x 60 journeys, every client converting by the same non-noisy-OR
    curve f: the pooled rate of each set is f within 4 binomial standard errors of its 18,000
    journeys (the noisy-OR weight k0 is small, the data decide), and the clients' weight k is
    large (they all follow the pooled rates)."""
    f = synergy_rates()
    j = cells(np.tile(f, (300, 1)), 60, 3)
    prior = fit_shapley_prior(j)
    n = 300 * 60
    np.testing.assert_array_less(np.abs(prior.rate(np.arange(1, 16)) - f),
                                 4 * np.sqrt(f * (1 - f) / n))
    assert prior.pooled_strength < n / 10
    assert prior.strength > 1000
    m = -np.expm1(-(((np.arange(1, 16)[:, None] >> np.arange(4)) & 1) @ prior.q))
    assert np.abs(m - f).max() > 0.05  # the noisy-OR fit alone is far off: the test bites


def test_pooled_rates_stay_on_the_noisy_or_curve_when_clients_follow_it():
    """Clients converting by a noisy-OR curve: the noisy-OR weight k0 is far above any set's
    18,000 pooled journeys, so the pooled rates are the fitted curve's."""
    f = noisy_or(np.array([0.05, 0.2, 0.1, 0.3]))[np.arange(1, 16)]
    prior = fit_shapley_prior(cells(np.tile(f, (300, 1)), 60, 4))
    assert prior.pooled_strength > 10 * 300 * 60
    m = -np.expm1(-(((np.arange(1, 16)[:, None] >> np.arange(4)) & 1) @ prior.q))
    np.testing.assert_allclose(prior.rate(np.arange(1, 16)), m, rtol=0, atol=0.002)


def test_models_fit_settled_journeys_and_credit_every_order():
    """Orders whose window has not settled are credited but not fitted on: with 10 settled and
    20 recent orders over 40 settled journeys on channel a, P(convert | a) is 10/40, not 30/60.
    A client with recent orders only (d) is fitted on all its journeys, so Markov credits them."""
    settled = journeys([("c", "a", 10, 30), ("d", "b", 0, 5)])
    recent = journeys([("c", "a", 20, 0), ("d", "b", 5, 0)])
    df = pl.concat([settled.with_columns(is_settled=pl.lit(True)),
                    recent.with_columns(is_settled=pl.lit(False))])
    out = attribute(df, rule_credits_for(df), AttributionSettings(bootstrap_resamples=10))
    p = -np.expm1(-out.shapley_prior.q)
    assert dict(zip(out.channels, p)) == pytest.approx({"a": 10 / 40, "b": 5 / 10}, abs=1e-4)
    errors = conservation_errors(out.channel_attribution, df)
    assert errors["conversions_rel_error"].max() <= 1e-9
    assert errors["revenue_rel_error"].max() <= 1e-9
    credit = out.channel_attribution.filter(pl.col("client_id") == "d", pl.col("channel") == "b")
    assert set(credit["attributed_conversions"]) == {5.0}  # every model, Markov included
    with pytest.raises(ValueError, match="not settled"):
        attribute(df.with_columns(is_settled=pl.lit(False)), rule_credits_for(df))


def test_every_model_conserves_conversions_and_revenue_per_client():
    df = journeys(MTA + [("c2", "a > b", 3, 5), ("c2", None, 2, 0), ("c2", "b", 1, 4)])
    out = attribute(df, rule_credits_for(df), AttributionSettings(bootstrap_resamples=20))
    errors = conservation_errors(out.channel_attribution, df)
    assert errors.height == 2 * 7
    assert errors["conversions_rel_error"].max() <= 1e-9
    assert errors["revenue_rel_error"].max() <= 1e-9
    none = out.channel_attribution.filter(pl.col("channel") == "(none)")
    assert set(none["attributed_conversions"]) == {2.0}


def test_bootstrap_intervals_hold_the_point_estimate_and_are_seeded():
    df = journeys([("c", "a > b", 30, 10), ("c", "a > c", 10, 10), ("c", "b", 5, 20)])
    s = AttributionSettings(bootstrap_resamples=50, seed=4)
    a = attribute(df, rule_credits_for(df), s).channel_attribution
    b = attribute(df, rule_credits_for(df), s).channel_attribution
    assert a.equals(b)
    inside = (a["conversions_lower"] <= a["attributed_conversions"] + 1e-9) & \
        (a["attributed_conversions"] <= a["conversions_upper"] + 1e-9)
    assert inside.all()
    assert (a["conversions_upper"] - a["conversions_lower"]).max() > 0


def test_roi_divides_attributed_revenue_by_spend():
    attribution = pl.DataFrame({"client_id": ["c"], "channel": ["a"], "attribution_model": ["linear"],
                                "attributed_conversions": [4.0], "attributed_revenue": [100.0]})
    roi = channel_roi(attribution, pl.DataFrame({"client_id": ["c", "c"], "channel": ["a", "a"],
                                                 "spend": [20.0, 30.0]}))
    assert roi["spend"][0] == 50.0  # the channel's spend rows summed
    assert roi["roas"][0] == pytest.approx(2.0) and roi["cpa"][0] == pytest.approx(12.5)


def test_post_regression_recovers_a_planted_viral_effect_with_client_fixed_effects():
    rng = np.random.default_rng(1)
    n = 3000
    client = rng.integers(0, 30, n)
    viral = rng.random(n) < 0.4
    video = rng.random(n) < 0.5
    revenue = 50 * client + 12.0 * viral + 5.0 * video + rng.normal(0, 3, n)  # client effects huge
    content = pl.DataFrame({
        "content_id": [f"p{i}" for i in range(n)], "client_id": [f"c{k}" for k in client],
        "platform": np.where(rng.random(n) < 0.5, "tiktok", "instagram"),
        "content_type": np.where(video, "video", "reel"), "automated": rng.random(n) < 0.5,
        "viral_optimized": viral})
    credits = pl.DataFrame({"content_id": content["content_id"], "credit": np.ones(n),
                            "revenue_credit": revenue})
    drivers = post_revenue_impact(content, credits).drivers
    est = dict(zip(drivers["term"], drivers["estimate"]))
    assert est["viral_optimized"] == pytest.approx(12.0, abs=0.5)
    assert abs(est[next(t for t in est if t.startswith("content_type="))]) == pytest.approx(5.0, abs=0.5)
    sugg = drivers.filter(pl.col("term") == "viral_optimized")["suggestion"][0]
    assert sugg.startswith("more viral_optimized")
