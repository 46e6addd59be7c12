"""The second attribution truth (dagster_project.simulator.synergy): its rows follow the landing
contract, its conversion function is the documented logistic one and not noisy-OR, and its
truth is the exact Shapley share of the expected conversions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dagster_project.contract import load_contract
from dagster_project.simulator.shapley import expected_credit, noisy_or, shapley_by_set
from dagster_project.simulator.synergy import CHANNELS, conversion_table, synergy_journeys


@pytest.fixture(scope="module")
def data():
    return synergy_journeys(n_clients=60, seed=3)


def bit(*channels: str) -> int:
    return sum(1 << CHANNELS.index(c) for c in channels)


def test_rows_follow_the_landing_contract_and_the_same_seed_gives_the_same_rows(data):
    contract = load_contract()
    for table, frame in (("touchpoints", data.touchpoints), ("conversions", data.conversions)):
        assert frame.schema == contract[table].polars_schema(), table
        assert frame[contract[table].key[0]].is_unique().all()
    assert set(data.touchpoints["channel"]) <= set(CHANNELS)
    again = synergy_journeys(n_clients=60, seed=3)
    assert again.touchpoints.equals(data.touchpoints) and again.conversions.equals(data.conversions)


def test_every_order_follows_its_journeys_touches_within_one_lookback(data):
    """One journey per end-customer, its touches in the 29 days before the decision."""
    span = data.touchpoints.group_by("customer_id").agg(
        pl.col("touched_at").min().alias("first"), pl.col("touched_at").max().alias("last"))
    orders = data.conversions.join(span, on="customer_id", how="left")
    assert orders["first"].null_count() == 0  # every order has its touches
    assert (orders["converted_at"] >= orders["last"]).all()
    assert ((orders["converted_at"] - orders["first"]).dt.total_days() < 30).all()
    assert data.conversions["customer_id"].is_unique().all()


def test_the_conversion_function_has_complements_and_substitutes_that_noisy_or_cannot_fit():
    """f(S) = sigmoid(-3.4 + main effects + pair effects), written out here for three sets."""
    f = conversion_table()
    sig = lambda x: 1 / (1 + np.exp(-x))
    assert f[bit("email")] == pytest.approx(sig(-3.4 + 1.0))
    assert f[bit("email", "paid_search")] == pytest.approx(sig(-3.4 + 1.0 + 1.4 + 0.9))
    assert f[bit("paid_search", "organic_search")] == pytest.approx(sig(-3.4 + 1.4 + 1.1 - 0.9))
    assert f[0] == 0.0
    either = lambda a, b: 1 - (1 - f[bit(a)]) * (1 - f[bit(b)])  # their noisy-OR combination
    assert f[bit("email", "paid_search")] > either("email", "paid_search")  # complements
    for a, b in (("paid_search", "organic_search"), ("referral", "direct")):  # substitutes
        assert max(f[bit(a)], f[bit(b)]) < f[bit(a, b)] < either(a, b)


def test_shapley_values_of_any_game_match_the_two_channel_closed_form():
    # phi_1 = (v(1) + v(12) - v(2)) / 2 for any game v on two players (Shapley 1953)
    v = np.array([0.0, 0.3, 0.1, 0.7])
    phi = shapley_by_set(v, np.array([3]))[0]
    assert phi == pytest.approx([(0.3 + 0.7 - 0.1) / 2, (0.1 + 0.7 - 0.3) / 2])
    assert expected_credit(v, np.array([0, 2, 0, 4])) == pytest.approx([2 * 0.3 + 4 * phi[0],
                                                                         4 * phi[1]])
    with pytest.raises(ValueError, match="2\\^k"):
        shapley_by_set(np.zeros(6), np.array([1]))


def test_truth_shares_sum_to_one_and_differ_from_the_noisy_or_shares_of_the_same_journeys(data):
    shares = np.array([data.truth["shapley_share"][c] for c in CHANNELS])
    assert shares.sum() == pytest.approx(1.0)
    assert data.truth["converted_journeys"] == data.conversions.height
    # a noisy-OR with each channel's single-channel rate gives other shares on the same sets
    f = conversion_table()
    p = np.array([f[bit(c)] for c in CHANNELS])
    masks = data.touchpoints.group_by("customer_id").agg(
        pl.col("channel").unique().replace_strict({c: bit(c) for c in CHANNELS},
                                                  return_dtype=pl.Int64).sum())["channel"]
    counts = np.bincount(masks.to_numpy(), minlength=2 ** len(CHANNELS)).astype(float)
    other = expected_credit(noisy_or(p), counts)
    assert np.abs(other / other.sum() - shares).max() > 0.01
