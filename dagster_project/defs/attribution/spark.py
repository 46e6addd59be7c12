"""Attribution on Spark: the pooled first pass on the driver, each batch of clients fitted on
an executor (``warehouse.spark_fanout``), so the second pass (every model, the bootstrap, the
model comparison) spreads over the cluster and its rows never pass through the driver.

The journeys and rule credits are Spark DataFrames shaped as ``sources.WarehouseJourneys``
reads them (``JOURNEYS_SQL``, ``RULE_CREDITS_SQL``, without the client range); clients are
ordered and compared as Spark compares strings (binary UTF-8, as polars does), so the plan of
batches, the pooled fit and every client's rows are the ones the warehouse source gives: each
client's draws come from its own stream (``analytics.attribution.streams``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dagster_project.analytics.attribution import AttributionSettings, ClientBatch
from dagster_project.analytics.attribution.batches import SEPARATOR, plan_batches
from dagster_project.analytics.attribution.comparison import COMPARISON_SCHEMA
from dagster_project.analytics.attribution.credits import ATTRIBUTION_SCHEMA, attribute_batch
from dagster_project.analytics.attribution.pooled import PooledFit, fit_pooled
from dagster_project.warehouse.spark_backend import from_spark
from dagster_project.warehouse.spark_fanout import fan_out

BATCH = "_batch"
OUTPUTS = {"channel_attribution": ATTRIBUTION_SCHEMA, "model_comparison": COMPARISON_SCHEMA}


@dataclass(frozen=True)
class SparkJourneys:
    """``JourneySource`` over Spark DataFrames of the journeys and the rule credits; each
    read brings one batch of clients to the driver (the pooled first pass)."""

    paths: object  # pyspark DataFrame
    credits: object

    def client_groups(self) -> pl.DataFrame:
        from pyspark.sql import functions as F

        return from_spark(self.paths.groupBy("client_id").agg(
            F.countDistinct(F.coalesce("channel_path", F.lit(""))).alias("groups"))
            .orderBy("client_id"))

    def channel_names(self) -> list[str]:
        from pyspark.sql import functions as F

        steps = self.paths.where(F.col("channel_path").isNotNull()).select(
            F.explode(F.split("channel_path", SEPARATOR.strip())).alias("channel")).distinct()
        return from_spark(steps)["channel"].to_list()

    def journeys(self, batch: ClientBatch) -> pl.DataFrame:
        return from_spark(self.paths.where(self.paths.client_id.between(batch.first, batch.last)))

    def rule_credits(self, batch: ClientBatch) -> pl.DataFrame:
        return from_spark(self.credits.where(
            self.credits.client_id.between(batch.first, batch.last)))


@dataclass(frozen=True)
class SparkAttribution:
    union: object  # the fan-out's union frame (spark_fanout.output(union, name, OUTPUTS))
    pooled: PooledFit
    batches: int


def attribute_on_spark(spark, paths, credits, settings: AttributionSettings) -> SparkAttribution:
    """Plan the batches and fit the pooled quantities on the driver, then fan the batches out
    to the executors; nothing runs on them until the union frame is written or read."""
    source = SparkJourneys(paths, credits)
    clients = source.client_groups()
    batches = plan_batches(clients, settings.client_batch_groups, settings.client_batch_clients)
    pooled = fit_pooled(source, clients, batches, settings)
    starts = pl.Series([b.first for b in batches])
    batch_of = starts.search_sorted(clients["client_id"], "right").cast(pl.Int64) - 1
    of_client = clients.select("client_id", batch_of.alias(BATCH))
    tagged = spark.createDataFrame(of_client.to_arrow())

    def one_batch(batch_id: int, batch_paths: pl.DataFrame, batch_credits: pl.DataFrame) -> dict:
        batch = batches[batch_id]
        # Spark hands the rows over in shuffle order: sorted, the sums are the same every run
        result = attribute_batch(batch_paths.sort(pl.all()), batch_credits.sort(pl.all()), batch,
                                 pooled, settings)
        return {"channel_attribution": result.channel_attribution,
                "model_comparison": result.model_comparison}

    union = fan_out(paths.join(tagged, "client_id"), credits.join(tagged, "client_id"), BATCH,
                    one_batch, OUTPUTS)
    return SparkAttribution(union, pooled, len(batches))
