"""What a unique index on the contract key would cost DuckDB's raw tables: ingest time and file
size of the two biggest tables (touchpoints: one string key; api_requests: a three-column key)
loaded by the real ingest with and without the index (PostgreSQL has one: README "Ingest
safety")."""

from __future__ import annotations

import os

from bench_simulator import ensure_landing
from benchlib import Context, Record

ORDER = 35
TABLES = ("touchpoints", "api_requests")


def ingest_tables(landing_dir: str, duckdb_path: str, unique_index: bool) -> dict:
    """The measured step: ingest TABLES into a fresh DuckDB file, each in its own transaction;
    with ``unique_index`` the raw tables get the index PostgreSQL has before the first load."""
    import time

    from dagster_project.contract import table
    from dagster_project.ingest.load import ingest_table
    from dagster_project.ingest.tables import raw_table
    from dagster_project.warehouse import Warehouse
    from dagster_project.warehouse.base import quote
    from dagster_project.warehouse.duckdb_backend import DuckDBSession

    if unique_index:
        def with_index(self, name, columns):
            cols = ", ".join(quote(c) for c in columns)
            self.execute(f"create unique index if not exists {quote(name.split('.')[1] + '_key')}"
                         f" on {name} ({cols})")
            return True

        DuckDBSession.ensure_unique_key = with_index
    wh = Warehouse(duckdb_path=duckdb_path)
    seconds, rows = {}, {}
    for name in TABLES:
        t0 = time.perf_counter()
        with wh.session() as session:
            rows[name] = ingest_table(session, name, landing_dir).rows_loaded
        seconds[name] = time.perf_counter() - t0
        assert wh.scalar(f"select count(*) from {raw_table(name)}") == rows[name]
        assert table(name).key
    return {"seconds": seconds, "rows": rows, "file_mb": os.path.getsize(duckdb_path) / 2**20}


def run(ctx: Context) -> list[Record]:
    landing = ensure_landing(ctx)
    runs = {}
    for indexed in (False, True):
        db = ctx.path(f"unique-key-{indexed}", "warehouse.duckdb")
        db.unlink(missing_ok=True)
        runs[indexed] = ctx.measure("bench_duckdb_unique_key:ingest_tables",
                                    label=f"ingest-unique-index-{indexed}",
                                    landing_dir=str(landing), duckdb_path=str(db),
                                    unique_index=indexed)
    plain, indexed = runs[False].result, runs[True].result
    records = []
    for name in TABLES:
        slower = indexed["seconds"][name] / plain["seconds"][name]
        records.append(Record.from_measurement(
            f"{name}: ingest with / without a unique index", round(slower, 2), "x", runs[True],
            notes=f"{plain['rows'][name]:,} rows: {plain['seconds'][name]:.1f} s without, "
                  f"{indexed['seconds'][name]:.1f} s with"))
    records.append(Record.from_measurement(
        "file size with / without", round(indexed["file_mb"] / plain["file_mb"], 2), "x",
        runs[True], notes=f"{plain['file_mb']:.0f} MB without, {indexed['file_mb']:.0f} MB with"))
    return records
