"""The attribution tables written a batch of clients at a time through staging tables, on a real
DuckDB file and a real PostgreSQL database: the tables equal the models fitted with every client
in one batch in memory (the second method), a rerun replaces them (never appends), a failure in
a later batch leaves the previous tables and no staging table, and the staging helper refuses
what it cannot replace."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dagster_project.analytics.attribution import AttributionSettings, FrameJourneys, attribute
from dagster_project.defs.attribution.staged import ATTRIBUTION, COMPARISON, write_attribution
from dagster_project.devtools.attribution_fixtures import random_journeys, rule_credits_for
from dagster_project.warehouse.staging import StagedReplace, stage_name

ONE_BATCH = {"client_batch_groups": 10**9, "client_batch_clients": 10**9}
ONE_CLIENT = {"client_batch_groups": 1, "client_batch_clients": 1}
SETTINGS = AttributionSettings(bootstrap_resamples=10, seed=3)
ORDER = {ATTRIBUTION: ["client_id", "attribution_model", "channel"],
         COMPARISON: ["client_id", "channel"]}


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    df = random_journeys(4, n=1200, clients=4)
    return df, rule_credits_for(df)


def stored(warehouse, table: str) -> pl.DataFrame:
    return warehouse.read(f"select * from {table}").sort(ORDER[table])


def staging_tables(warehouse) -> list[str]:
    return warehouse.read("select table_name from information_schema.tables "
                          "where table_schema = 'analytics' and table_name like '\\_stage\\_%' "
                          "escape '\\'")["table_name"].to_list()


@dataclasses.dataclass(frozen=True)
class FailingLater(FrameJourneys):
    """Raises when the rule credits of the second batch of the second pass are read: the first
    batch's rows are staged by then."""

    calls: list = dataclasses.field(default_factory=list)

    def rule_credits(self, batch):
        self.calls.append(batch.first)
        if len(self.calls) == 2:
            raise RuntimeError(f"injected failure in the batch of {batch.first}")
        return super().rule_credits(batch)


def test_the_tables_written_a_client_at_a_time_equal_one_batch_of_all_clients_in_memory(
        any_warehouse, frames):
    """Float columns to 1e-12 (BLAS sums in another order for other matrix shapes); a rerun
    leaves the same rows, not twice as many."""
    df, credits = frames
    want = attribute(df, credits, dataclasses.replace(SETTINGS, **ONE_BATCH))
    for _ in range(2):
        with any_warehouse.session() as s:
            written = write_attribution(s, FrameJourneys(df, credits),
                                        dataclasses.replace(SETTINGS, **ONE_CLIENT))
        assert written.batches == 4 and written.journeys == want.journeys
        for table, frame in ((ATTRIBUTION, want.channel_attribution),
                             (COMPARISON, want.model_comparison)):
            assert_frame_equal(stored(any_warehouse, table), frame.sort(ORDER[table]),
                               rel_tol=1e-12, abs_tol=1e-12)
    assert staging_tables(any_warehouse) == []


def test_a_failure_in_a_later_batch_leaves_the_previous_tables_and_no_staging_table(
        any_warehouse, frames):
    df, credits = frames
    with any_warehouse.session() as s:
        write_attribution(s, FrameJourneys(df, credits), SETTINGS)
    before = {t: stored(any_warehouse, t) for t in ORDER}
    other = dataclasses.replace(SETTINGS, seed=9, **ONE_CLIENT)  # would change the intervals
    failing = FailingLater(df, credits)
    with pytest.raises(RuntimeError, match="injected failure"), any_warehouse.session() as s:
        write_attribution(s, failing, other)
    assert len(failing.calls) == 2  # the first batch had been fitted and staged
    for table, frame in before.items():
        assert_frame_equal(stored(any_warehouse, table), frame, check_exact=True)
    assert staging_tables(any_warehouse) == []


def test_a_view_over_a_staged_table_survives_its_replacement(any_warehouse):
    """BI tools and the dbt reporting views read the table by name: the replacement keeps them
    (PostgreSQL keeps the table itself when the columns are the same)."""
    with any_warehouse.session() as s:
        s.write("analytics.t", pl.DataFrame({"id": [1], "v": [1.0]}))
        s.execute("create view analytics.t_view as select id, v from analytics.t")
    with any_warehouse.session() as s:
        staged = StagedReplace(s, ["analytics.t"])
        staged.append("analytics.t", pl.DataFrame({"id": [2], "v": [2.0]}))
        staged.append("analytics.t", pl.DataFrame({"id": [3], "v": [3.0]}))
        staged.finish()
    assert any_warehouse.read("select * from analytics.t_view order by id").to_dicts() == \
        [{"id": 2, "v": 2.0}, {"id": 3, "v": 3.0}]


def test_staging_refuses_an_unknown_table_a_bare_name_and_a_table_without_parts(any_warehouse):
    with any_warehouse.session() as s:
        staged = StagedReplace(s, ["analytics.a", "analytics.b"])
        with pytest.raises(ValueError, match="table must be one of"):
            staged.append("analytics.c", pl.DataFrame({"id": [1]}))
        staged.append("analytics.a", pl.DataFrame({"id": [1]}))
        with pytest.raises(ValueError, match=r"no part was appended to \['analytics.b'\]"):
            staged.finish()
        with pytest.raises(ValueError, match="tables must be schema.table names"):
            StagedReplace(s, ["a"])
    assert stage_name("analytics.a") == "analytics._stage_a"
