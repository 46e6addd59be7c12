"""Attribution in client batches: peak memory at N and 2N clients (flat), and the channel_attribution asset on the scale's marts.

1. Synthetic attribution marts (journeys drawn as in ``bench_attribution``, 11 channels, about
   335 journeys per client, rule credits as linear shares) for N and 2N clients, written into a
   DuckDB file (not measured); the measured step runs what the ``channel_attribution`` asset
   computes and writes (``write_attribution`` over the warehouse source, 200 resamples) in its own process:
   with the default batches, and with all clients in one batch (what the unbatched code held).
   The figure: peak memory at 2N over peak memory at N (target <= 1.15 with batches).
2. The ``channel_attribution`` asset and its conservation check materialized in-process on the
   scale's marts (the scale's raw warehouse, then dbt runs the two attribution marts; neither
   timed): its seconds and the process's peak memory.
Peak memory is the process's max RSS, DuckDB's buffer pool included (1.5 GB limit, as the
pipeline's, lowered to the asset's ``reader_memory_limit`` while the batches run).
"""

from __future__ import annotations

import shutil

from bench_attribution import _journeys
from bench_dbt import dbt_cli
from bench_ingest import ensure_raw_warehouse
from benchlib import Context, Record

ORDER = 62
JOURNEYS_PER_CLIENT = 335  # as the medium simulation: 700,000 journeys over 2,087 clients
CLIENTS = 2_087
FLAT_TARGET = 1.15  # peak at 2N clients / peak at N (one batch: about 1.7)
DUCKDB_MEMORY = "1.5GB"


def synthetic_marts(duckdb_path: str, clients: int, seed: int) -> dict:
    """marts.fct_attribution_paths and marts.fct_attribution_touch_credits of synthetic
    journeys (15% of the orders still unsettled), in a new DuckDB file."""
    import duckdb
    import numpy as np
    import polars as pl

    df = _journeys(JOURNEYS_PER_CLIENT * clients, 11, clients, seed)
    rng = np.random.default_rng(seed)
    paths = df.with_row_index("path_id").with_columns(
        pl.format("c{}", pl.col("client_id").str.slice(1).str.zfill(6)).alias("client_id"),
        pl.col("path_id").cast(pl.String),
        pl.lit(False).alias("is_window_open"),
        pl.Series("is_settled", ~(df["converted"].to_numpy() & (rng.random(df.height) < 0.15))))
    touches = paths.filter("converted").select(
        "path_id", "client_id", "revenue",
        pl.col("channel_path").str.split(" > ").alias("channel")).explode("channel")
    touches = touches.with_columns(pl.len().over("path_id").alias("touches"))
    credits = pl.concat([touches.select(
        "path_id", "client_id", pl.lit(m).alias("attribution_model"), "channel",
        (1.0 / pl.col("touches")).alias("credit"),
        (pl.col("revenue") / pl.col("touches")).alias("revenue_credit"))
        for m in ("first_touch", "last_touch", "linear", "time_decay", "position_based")])
    with duckdb.connect(duckdb_path) as con:
        con.execute("create schema marts")
        con.register("paths_frame", paths.to_arrow())
        con.register("credits_frame", credits.to_arrow())
        con.execute("create table marts.fct_attribution_paths as "
                    "select * from paths_frame order by client_id")
        con.execute("create table marts.fct_attribution_touch_credits as "
                    "select * from credits_frame order by client_id")
    return {"journeys": paths.height, "credit_rows": credits.height}


def attribute_marts(duckdb_path: str, one_batch: bool) -> dict:
    """The measured step: the asset's computation and writes over the warehouse source
    (``write_attribution``: each batch's rows staged as it is fitted, both tables replaced at
    the end)."""
    from dagster_project.analytics.attribution import AttributionSettings
    from dagster_project.defs.attribution.sources import WarehouseJourneys
    from dagster_project.defs.attribution.staged import ATTRIBUTION, write_attribution
    from dagster_project.warehouse.duckdb_backend import DuckDBSession

    settings = AttributionSettings(**({"client_batch_groups": 10**9,
                                       "client_batch_clients": 10**9} if one_batch else {}))
    with DuckDBSession.open(duckdb_path, DUCKDB_MEMORY) as session:
        written = write_attribution(session, WarehouseJourneys(session), settings)
        rows, clients = session.read(f"select count(*) as n, count(distinct client_id) as c "
                                     f"from {ATTRIBUTION}").row(0)
    return {"journeys": written.journeys, "rows": int(rows), "clients": int(clients)}


def dbt_attribution_marts(duckdb_path: str, target_path: str, log_path: str) -> dict:
    import os

    os.environ.update(BI_DUCKDB_PATH=duckdb_path, DBT_TARGET="duckdb",
                      DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    return dbt_cli(["run", "--select", "+fct_attribution_paths", "+fct_attribution_touch_credits"],
                   target_path, log_path)


def materialize_attribution(duckdb_path: str) -> dict:
    """The measured step: ``channel_attribution`` and its blocking conservation check."""
    import dagster as dg

    from dagster_project.defs.attribution.assets import channel_attribution
    from dagster_project.defs.attribution.checks import attribution_checks
    from dagster_project.warehouse import Warehouse

    wh = Warehouse(duckdb_path=duckdb_path, duckdb_memory_limit=DUCKDB_MEMORY)
    result = dg.materialize([channel_attribution, *attribution_checks], resources={"warehouse": wh})
    checks = [e.passed for e in result.get_asset_check_evaluations()]
    journeys = wh.read("select count(*) as n from marts.fct_attribution_paths")["n"][0]
    clients = wh.read("select count(distinct client_id) as n from analytics.channel_attribution")
    return {"success": result.success and all(checks), "paths": int(journeys),
            "clients": int(clients["n"][0])}


def _flat(ctx: Context) -> list[Record]:
    clients = 100 if ctx.scale == "tiny" else CLIENTS
    runs = {}
    for n in (clients, 2 * clients):
        db = ctx.path("attribution-batches", f"clients-{n}.duckdb")
        db.unlink(missing_ok=True)
        ctx.measure("bench_attribution_batches:synthetic_marts", label=f"marts-{n}",
                    duckdb_path=str(db), clients=n, seed=ctx.seed)
        for one_batch in (False, True):
            runs[n, one_batch] = ctx.measure(
                "bench_attribution_batches:attribute_marts",
                label=f"attribute-{n}-{'one-batch' if one_batch else 'batches'}",
                duckdb_path=str(db), one_batch=one_batch)
        db.unlink()
    out = []
    for one_batch, label in ((False, "default batches"), (True, "all clients in one batch")):
        small, big = runs[clients, one_batch], runs[2 * clients, one_batch]
        out.append(Record(
            f"attribution peak memory, {2 * clients:,} / {clients:,} clients, {label}",
            round(big.peak_rss_mb / small.peak_rss_mb, 2), "x",
            target=None if one_batch else FLAT_TARGET, peak_rss_mb=big.peak_rss_mb,
            seconds=big.seconds,
            notes=f"{small.peak_rss_mb:,.0f} MB / {small.seconds:.0f} s at {clients:,} clients "
                  f"({small.result['journeys']:,} journeys), {big.peak_rss_mb:,.0f} MB / "
                  f"{big.seconds:.0f} s at {2 * clients:,} ({big.result['journeys']:,})"))
    return out


def run(ctx: Context) -> list[Record]:
    records = _flat(ctx)
    raw = ensure_raw_warehouse(ctx)
    db = ctx.path("attribution-asset", raw.name)
    shutil.copyfile(raw, db)
    ctx.measure("bench_attribution_batches:dbt_attribution_marts", label="attribution-dbt",
                duckdb_path=str(db), target_path=str(ctx.dir("attribution-dbt-target")),
                log_path=str(ctx.dir("attribution-dbt-logs")))
    m = ctx.measure("bench_attribution_batches:materialize_attribution",
                    label="attribution-asset", duckdb_path=str(db))
    records.append(Record.from_measurement(
        f"channel_attribution asset at {ctx.scale}", m.seconds, "s", m,
        passed=m.result["success"],
        notes=f"{m.result['clients']:,} clients, {m.result['paths']:,} journeys in "
              "fct_attribution_paths; 200 resamples; the conservation check included; marts "
              "built beforehand by dbt (not timed)"))
    db.unlink()
    return records
