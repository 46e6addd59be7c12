"""Attribution fanned out on Spark: the pooled pass on the driver, every batch of clients fitted
in an executor's Python worker (``cogroup(...).applyInArrow``); both tables equal the in-memory
fit of all clients in one batch (another batching, the same per-client streams)."""

from __future__ import annotations

import dataclasses

import pytest
from polars.testing import assert_frame_equal

from dagster_project.analytics.attribution import AttributionSettings, attribute
from dagster_project.devtools.attribution_fixtures import random_journeys, rule_credits_for

pytestmark = pytest.mark.spark


@pytest.mark.parametrize("options", [
    {"markov_order": 1},
    {"markov_order": 2, "markov_revenue_credit": "value_removal_effect",
     "max_exact_channels": 2, "shapley_tolerance": 0.05},  # sampled Shapley values
])
def test_batches_fitted_on_the_executors_give_the_in_memory_tables(spark_session, options):
    from dagster_project.defs.attribution.spark import OUTPUTS, attribute_on_spark
    from dagster_project.warehouse.spark_backend import from_spark
    from dagster_project.warehouse.spark_fanout import output

    spark = spark_session
    df = random_journeys(3, n=2400, clients=7)
    credits = rule_credits_for(df)
    settings = AttributionSettings(bootstrap_resamples=30, seed=5, client_batch_groups=6,
                                   client_batch_clients=2, **options)
    want = attribute(df, credits, dataclasses.replace(
        settings, client_batch_groups=10**9, client_batch_clients=10**9))
    run = attribute_on_spark(spark, spark.createDataFrame(df.to_arrow()),
                             spark.createDataFrame(credits.to_arrow()), settings)
    assert run.batches >= 4
    union = run.union.cache()
    got = {name: from_spark(output(union, name, OUTPUTS)) for name in OUTPUTS}
    assert got["channel_attribution"]["conversions_lower"].null_count() == 0
    assert_frame_equal(got["channel_attribution"].sort("client_id", "attribution_model", "channel"),
                       want.channel_attribution, rel_tol=1e-12, abs_tol=1e-12)
    assert_frame_equal(got["model_comparison"].sort("client_id", "channel"),
                       want.model_comparison, rel_tol=1e-12, abs_tol=1e-12)
