"""Attribution a batch of clients at a time: the plan of batches (hand-counted), the same numbers
whatever the batch size (one client per batch against all clients in one batch), the pooled
prior of the batches against the prior fitted on all journeys at once, the point estimates
against one fit of every model over all clients, and the errors of a bad source or settings."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from dagster_project.analytics.attribution import (
    MODELS,
    AttributionSettings,
    FrameJourneys,
    attribute,
    attribute_source,
)
from dagster_project.analytics.attribution.batches import plan_batches
from dagster_project.analytics.attribution.credits import model_credits
from dagster_project.analytics.attribution.journeys import group_journeys
from dagster_project.analytics.attribution.rule_based import rule_fractions
from dagster_project.analytics.attribution.shapley_prior import fit_shapley_prior
from dagster_project.devtools.attribution_fixtures import (
    CHANNELS,
    journeys,
    random_journeys,
    rule_credits_for,
)

ONE_BATCH = {"client_batch_groups": 10**9, "client_batch_clients": 10**9}
ONE_CLIENT = {"client_batch_groups": 1, "client_batch_clients": 1}


def test_a_batch_ends_past_each_multiple_of_the_groups_or_after_the_clients_limit():
    """Groups 1, 1, 1, 1, 6, 1 start at 0, 1, 2, 3, 4, 10: with max_groups 5 the first five
    clients start below 5 and f past 10; at most 3 clients a batch splits the first five in
    a..c and d..e (7 groups: e, the last, is not split)."""
    clients = pl.DataFrame({"client_id": list("abcdef"), "groups": [1, 1, 1, 1, 6, 1]})
    got = [(b.first, b.last, b.clients, b.groups) for b in plan_batches(clients, 5, 3)]
    assert got == [("a", "c", 3, 3), ("d", "e", 2, 7), ("f", "f", 1, 1)]
    assert len(plan_batches(clients, 1, 10)) == 6  # every client starts past a multiple of 1
    with pytest.raises(ValueError, match="max_groups and max_clients must be >= 1"):
        plan_batches(clients, 0, 3)


def journeys_and_credits(seed: int = 3, clients: int = 6) -> tuple[pl.DataFrame, pl.DataFrame]:
    df = random_journeys(seed, n=2400, clients=clients)
    return df, rule_credits_for(df)


def assert_same_tables(a: pl.DataFrame, b: pl.DataFrame) -> None:
    """Same rows and text; numbers to float rounding (BLAS and the sparse LU sum in another
    order for other matrix shapes), nulls in the same places."""
    assert a.columns == b.columns and a.height == b.height
    for col in a.columns:
        if a[col].dtype == pl.Float64:
            assert a[col].is_null().equals(b[col].is_null()), col
            np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-12,
                                       atol=1e-12, err_msg=col)
        else:
            assert a[col].equals(b[col]), col


@pytest.mark.parametrize("options", [
    {"markov_order": 1},
    {"markov_order": 2, "markov_revenue_credit": "value_removal_effect"},
    {"max_exact_channels": 2, "shapley_tolerance": 0.05},  # sampled Shapley values
])
def test_one_client_per_batch_gives_the_tables_of_one_batch_of_all_clients(options):
    """Point estimates, bootstrap intervals, held-out log-losses and recommendations alike:
    every client's draws come from its own stream."""
    df, credits = journeys_and_credits()
    settings = AttributionSettings(bootstrap_resamples=30, seed=5, **options)
    one = attribute(df, credits, dataclasses.replace(settings, **ONE_BATCH))
    each = attribute(df, credits, dataclasses.replace(settings, **ONE_CLIENT))
    assert one.channel_attribution["client_id"].n_unique() == 6
    assert one.channel_attribution["conversions_lower"].null_count() == 0
    assert_same_tables(one.channel_attribution, each.channel_attribution)
    assert_same_tables(one.model_comparison, each.model_comparison)
    assert one.model_comparison["logloss_markov"].null_count() == 0


def test_a_batch_without_held_out_touched_journeys_joins_the_other_batches():
    """A client with orders without a touch only: alone in its batch, its log-losses are null
    (nothing held out to compare on) and its rows stack onto the other client's."""
    df = journeys([("direct", None, 300, 0), ("order", "a > b", 180, 120),
                   ("order", "b > a", 30, 270)])
    settings = AttributionSettings(bootstrap_resamples=5)
    one = attribute(df, rule_credits_for(df), dataclasses.replace(settings, **ONE_BATCH))
    each = attribute(df, rule_credits_for(df), dataclasses.replace(settings, **ONE_CLIENT))
    assert_same_tables(one.model_comparison, each.model_comparison)
    direct = each.model_comparison.filter(pl.col("client_id") == "direct")
    assert direct["logloss_markov"].to_list() == [None]
    assert direct["heldout_journeys"].to_list() == [0.0]


def test_the_pooled_prior_of_the_batches_is_the_prior_fitted_on_all_journeys_at_once():
    """Bit for bit: the batches' counts are sums of whole numbers."""
    df, credits = journeys_and_credits()
    got = attribute(df, credits, AttributionSettings(bootstrap_resamples=0, **ONE_CLIENT))
    want = fit_shapley_prior(group_journeys(df))
    np.testing.assert_array_equal(got.shapley_prior.q, want.q)
    np.testing.assert_array_equal(got.shapley_prior.set_journeys, want.set_journeys)
    assert (got.shapley_prior.strength, got.shapley_prior.pooled_strength) == \
        (want.strength, want.pooled_strength)


def test_batched_point_estimates_equal_one_fit_of_every_model_over_all_clients():
    """The unbatched computation: all clients' journeys grouped together, the rule credits
    regrouped, every model fitted once with the prior of all journeys."""
    df, credits = journeys_and_credits(seed=8, clients=5)
    settings = AttributionSettings(bootstrap_resamples=0, markov_order=2)
    got = attribute(df, credits, dataclasses.replace(settings, **ONE_CLIENT)).channel_attribution
    j = group_journeys(df)
    want = model_credits(j, rule_fractions(j, credits), settings, fit_shapley_prior(j))
    channels = (*CHANNELS, "(none)")
    for model in MODELS:
        rows = got.filter(pl.col("attribution_model") == model)
        ci = rows["client_id"].replace_strict({c: i for i, c in enumerate(j.clients)},
                                              return_dtype=pl.Int64).to_numpy()
        ch = rows["channel"].replace_strict({c: i for i, c in enumerate(channels)},
                                            return_dtype=pl.Int64).to_numpy()
        for col, table in zip(("attributed_conversions", "attributed_revenue"), want[model]):
            np.testing.assert_allclose(rows[col].to_numpy(), table[ci, ch], rtol=1e-12, atol=1e-12)
            assert table.sum() == pytest.approx(rows[col].sum(), rel=1e-12)  # no row left out


class ReversedJourneys(FrameJourneys):
    """Lists its clients in descending order, but filters ranges in ascending string order."""

    def client_groups(self) -> pl.DataFrame:
        return super().client_groups().sort("client_id", descending=True)


def test_a_source_whose_ranges_do_not_follow_its_client_order_is_an_error():
    df, credits = journeys_and_credits()
    with pytest.raises(ValueError, match="range filter must follow the order of its client list"):
        attribute_source(ReversedJourneys(df, credits),
                         AttributionSettings(bootstrap_resamples=0, client_batch_clients=2))


@pytest.mark.parametrize("field, value, message", [
    ("seed", -1, "seed must be >= 0"),
    ("client_batch_groups", 0, "client_batch_groups must be >= 1"),
    ("client_batch_clients", 0, "client_batch_clients must be >= 1"),
])
def test_settings_reject_a_negative_seed_and_empty_batches(field, value, message):
    with pytest.raises(ValueError, match=message):
        AttributionSettings(**{field: value})


def test_no_journeys_is_an_error_not_an_empty_attribution():
    df, credits = journeys_and_credits()
    with pytest.raises(ValueError, match="no journeys to attribute"):
        attribute(df.clear(), credits.clear())


def test_both_tables_have_their_declared_schemas():
    """What the Spark fan-out declares to Spark for them (``warehouse.spark_fanout``)."""
    from dagster_project.analytics.attribution.comparison import COMPARISON_SCHEMA
    from dagster_project.analytics.attribution.credits import ATTRIBUTION_SCHEMA

    df, credits = journeys_and_credits()
    for resamples in (0, 5):
        got = attribute(df, credits, AttributionSettings(bootstrap_resamples=resamples))
        assert dict(got.channel_attribution.schema) == ATTRIBUTION_SCHEMA
        assert dict(got.model_comparison.schema) == COMPARISON_SCHEMA
