"""One stray row dated far ahead of the data does not move the as-of date.

Before issue 11 the as-of date was the latest date in the activity data: a single valid-looking
order dated a few weeks before today (it passes ingest: not after the load time) moved it from
the simulation's last day to that date, and fct_mrr_daily grew from 50 to about 700 days. The
expected values come from the simulator's manifest (tiny: 50 days from 2025-01-01).
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import polars as pl
import pytest

pytestmark = pytest.mark.integration

MRR = dg.AssetKey(["marts", "fct_mrr_daily"])


def build_mrr() -> dg.ExecuteInProcessResult:
    from dagster_project.definitions import defs

    job = dg.define_asset_job("build_mrr", selection=dg.AssetSelection.assets(MRR).upstream())
    definitions = dg.Definitions.merge(defs(), dg.Definitions(jobs=[job]))
    with dg.DagsterInstance.get() as instance:
        return definitions.resolve_job_def("build_mrr").execute_in_process(instance=instance)


def test_a_stray_order_dated_ahead_does_not_move_the_as_of_date(pipeline_env):
    manifest = json.loads((pipeline_env.landing / "_simulation.json").read_text())
    last_day = dt.date.fromisoformat(manifest["end_date"])
    conversions = pl.read_parquet(pipeline_env.landing / "conversions" / "**" / "*.parquet")
    stray_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=20)
    stray = conversions.head(1).with_columns(pl.lit("stray-0001").alias("conversion_id"),
                                             pl.lit(stray_at).alias("converted_at"))
    path = pipeline_env.landing / "conversions" / "late" / "stray.parquet"
    path.parent.mkdir()
    stray.write_parquet(path)

    result = build_mrr()
    assert result.success
    newest = pipeline_env.query("select max(converted_at) as t from raw.conversions")["t"][0]
    assert newest == stray_at  # loaded: the old rule would have taken its day
    as_of = pipeline_env.query("select as_of_date from intermediate.int_as_of_date").item()
    assert as_of == last_day
    days = pipeline_env.query("select count(distinct date_day) as n from marts.fct_mrr_daily")
    assert days.item() == manifest["days"] == 50
