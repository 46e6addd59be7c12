"""Ingest throughput: rows/s loading the simulated landing folder into a fresh DuckDB file, beside
DuckDB's own read_parquet of the same files (no validation: the floor)."""

from __future__ import annotations

from pathlib import Path

from bench_simulator import ensure_landing
from benchlib import Context, Record

ORDER = 20


def ingest_all(landing_dir: str, duckdb_path: str) -> dict:
    """The measured step: every contract table, one transaction per table, like the assets."""
    from dagster_project.contract import RAW_TABLES
    from dagster_project.ingest.load import ingest_table
    from dagster_project.warehouse import Warehouse

    wh = Warehouse(duckdb_path=duckdb_path)
    tables = {}
    for name in RAW_TABLES:
        with wh.session() as session:
            report = ingest_table(session, name, landing_dir)
        tables[name] = {
            "files": len(report.files),
            "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded,
            "rows_quarantined": report.rows_quarantined,
            "rejected_files": len(report.rejected),
        }
    return tables


def read_parquet_all(landing_dir: str, duckdb_path: str) -> dict:
    """The floor: each table's Parquet files straight into a fresh DuckDB file with
    ``read_parquet`` (one statement per table, no validation, no bookkeeping)."""
    import duckdb

    from dagster_project.contract import RAW_TABLES

    con = duckdb.connect(duckdb_path)
    con.execute("create schema raw")
    rows = 0
    for name in RAW_TABLES:
        files = sorted(str(p) for p in Path(landing_dir, name).rglob("*.parquet"))
        if files:
            con.execute(f"create table raw.{name} as select * from read_parquet(?, "
                        "hive_partitioning = false)", [files])
            rows += con.execute(f"select count(*) from raw.{name}").fetchone()[0]
    con.close()
    return {"rows": rows}


def warehouse_paths(ctx: Context) -> tuple[Path, Path]:
    """(pre-dbt warehouse file, done marker) for the context's scale and seed."""
    base = f"raw-{ctx.scale}-{ctx.seed}"
    return ctx.path(base, "warehouse.duckdb"), ctx.path(f"{base}.done")


def ingest_warehouse(ctx: Context, label: str = "ingest"):
    """Ingest the landing folder into a fresh DuckDB file; returns (path, measurement)."""
    landing = ensure_landing(ctx)
    db, done = warehouse_paths(ctx)
    done.unlink(missing_ok=True)
    for p in db.parent.glob("warehouse.duckdb*"):
        p.unlink()
    m = ctx.measure("bench_ingest:ingest_all", label=label, landing_dir=str(landing),
                    duckdb_path=str(db))
    done.touch()
    return db, m


def ensure_raw_warehouse(ctx: Context) -> Path:
    """The ingested (pre-dbt) warehouse for this scale and seed; ingested (unreported) if missing."""
    db, done = warehouse_paths(ctx)
    if not done.exists():
        db, _ = ingest_warehouse(ctx, label="prepare-ingest")
    return db


def run(ctx: Context) -> list[Record]:
    db, m = ingest_warehouse(ctx)
    floor_db = ctx.path("read-parquet", "warehouse.duckdb")
    for p in floor_db.parent.glob("warehouse.duckdb*"):
        p.unlink()
    floor = ctx.measure("bench_ingest:read_parquet_all", label="read_parquet",
                        landing_dir=str(ensure_landing(ctx)), duckdb_path=str(floor_db))
    tables = m.result
    read = sum(t["rows_read"] for t in tables.values())
    loaded = sum(t["rows_loaded"] for t in tables.values())
    quarantined = sum(t["rows_quarantined"] for t in tables.values())
    files = sum(t["files"] for t in tables.values())
    rejected = sum(t["rejected_files"] for t in tables.values())
    size_mb = db.stat().st_size / 2**20
    return [
        Record.from_measurement(
            "throughput",
            read / m.seconds if m.seconds else None,
            "rows/s",
            m,
            target=2_000_000, target_op=">=",
            notes=f"{read:,} rows read from {files:,} files in {len(tables)} tables: "
            f"{loaded:,} loaded, {quarantined:,} quarantined, {rejected} files rejected; "
            f"warehouse {size_mb:,.0f} MB",
        ),
        Record.from_measurement("rows", read, "rows", m),
        Record.from_measurement("read_parquet_throughput", floor.result["rows"] / floor.seconds,
                                "rows/s", floor, notes="the same Parquet files into DuckDB with "
                                "read_parquet, one statement per table: no validation, quarantine "
                                "or file bookkeeping"),
        Record("ingest_over_read_parquet", round(m.seconds / floor.seconds, 2), "x",
               notes="ingest time / read_parquet time"),
    ]
