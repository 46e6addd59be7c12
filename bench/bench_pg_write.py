"""Bulk write throughput of the PostgreSQL Warehouse backend (COPY) vs pandas.DataFrame.to_sql."""

from __future__ import annotations

from benchlib import Context, Record
from pgbench_server import throwaway_server

ORDER = 60
ROWS = 5_000_000
TO_SQL_ROWS = 500_000  # to_sql row-batches INSERTs: 5 M rows would take many minutes


def frame(rows: int, seed: int = 0):
    """``rows`` x 10 columns: 3 int64, 3 float64, 2 strings, 2 timestamps."""
    from datetime import datetime

    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    start = np.datetime64(datetime(2025, 1, 1), "us")
    return pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "client_id": rng.integers(0, 5_000, rows),
            "count": rng.integers(0, 1_000_000, rows),
            "revenue": rng.gamma(2.0, 50.0, rows),
            "ratio": rng.random(rows),
            "score": rng.normal(0.0, 1.0, rows),
            "channel": pl.Series(rng.choice(["instagram", "tiktok", "youtube", "email"], rows)),
            "label": pl.Series(np.char.add("item-", rng.integers(0, 10**6, rows).astype(str))),
            "created_at": start + rng.integers(0, 365 * 86_400 * 10**6, rows).astype("m8[us]"),
            "updated_at": start + np.arange(rows).astype("m8[s]").astype("m8[us]"),
        }
    )


def warehouse_write(dsn: str, rows: int) -> dict:
    """The measured step: Warehouse.write (replace into a new table, then over it)."""
    import time

    from dagster_project.warehouse import Warehouse

    df = frame(rows)
    wh = Warehouse(backend="postgres", postgres_dsn=dsn)
    t0 = time.perf_counter()
    wh.write("bench.copy_write", df, mode="replace")
    fresh = time.perf_counter() - t0
    t0 = time.perf_counter()
    wh.write("bench.copy_write", df, mode="replace")  # existing table: stage + truncate + insert
    again = time.perf_counter() - t0
    n = wh.scalar("select count(*) from bench.copy_write")
    return {"rows": int(n), "fresh_seconds": fresh, "replace_seconds": again}


def pandas_to_sql(dsn_url: str, rows: int) -> dict:
    """The measured step: pandas.DataFrame.to_sql with default settings (SQLAlchemy + psycopg)."""
    import time

    import sqlalchemy

    pdf = frame(rows).to_pandas()
    engine = sqlalchemy.create_engine(dsn_url)
    with engine.begin() as con:
        con.exec_driver_sql("create schema if not exists bench")
    t0 = time.perf_counter()
    pdf.to_sql("to_sql_write", engine, schema="bench", index=False)
    seconds = time.perf_counter() - t0
    with engine.connect() as con:
        n = con.exec_driver_sql("select count(*) from bench.to_sql_write").scalar()
    engine.dispose()
    return {"rows": int(n), "seconds": seconds}


def run(ctx: Context) -> list[Record]:
    rows = 200_000 if ctx.scale == "tiny" else ROWS
    to_sql_rows = 20_000 if ctx.scale == "tiny" else TO_SQL_ROWS
    with throwaway_server(("bi",)) as server:
        copy = ctx.measure("bench_pg_write:warehouse_write", dsn=server.conninfo("bi"), rows=rows)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/bi"
        pandas = ctx.measure("bench_pg_write:pandas_to_sql", dsn_url=url, rows=to_sql_rows)
    assert copy.result["rows"] == rows and pandas.result["rows"] == to_sql_rows
    copy_rate = rows / copy.result["fresh_seconds"]
    replace_rate = rows / copy.result["replace_seconds"]
    pandas_rate = to_sql_rows / pandas.result["seconds"]
    return [
        Record.from_measurement(
            "copy_write_throughput",
            round(copy_rate),
            "rows/s",
            copy,
            notes=f"Warehouse.write, {rows:,} rows x 10 columns (3 int, 3 float, 2 text, "
            f"2 timestamp) into a new table, {copy.result['fresh_seconds']:.1f} s",
        ),
        Record.from_measurement(
            "copy_replace_throughput",
            round(replace_rate),
            "rows/s",
            copy,
            notes=f"the same frame replacing the existing table (COPY to a temp table, TRUNCATE, "
            f"INSERT ... SELECT), {copy.result['replace_seconds']:.1f} s",
        ),
        Record.from_measurement(
            "to_sql_throughput",
            round(pandas_rate),
            "rows/s",
            pandas,
            notes=f"pandas.DataFrame.to_sql defaults via SQLAlchemy+psycopg, timed on the first "
            f"{to_sql_rows:,} rows of the same frame, {pandas.result['seconds']:.1f} s",
        ),
        Record(
            "copy_speedup_vs_to_sql",
            round(copy_rate / pandas_rate, 1),
            "x",
            target=10,
            target_op=">=",
            notes="rows/s of Warehouse.write over rows/s of to_sql",
        ),
    ]
