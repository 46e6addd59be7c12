"""The tables ingestion writes, with explicit SQL types so dbt can build on an empty warehouse."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from dagster_project.contract import TableContract
from dagster_project.ingest.files import LandingFile
from dagster_project.warehouse import WarehouseSession

INGESTED_FILES = "ops.ingested_files"
REJECTED_FILES = "ops.rejected_files"
RETRACTED = "retracted"  # ops.ingested_files.status of a file whose rows were retracted

LINEAGE_COLUMNS = [
    ("_source_file", "varchar"),
    ("_source_row", "bigint"),
    ("_loaded_at", "timestamp"),
]
QUARANTINE_COLUMNS = [
    ("source_file", "varchar"),  # path relative to the landing dir
    ("source_row", "bigint"),  # 1-based data row in the file (CSV header not counted)
    ("rule", "varchar"),  # first violated rule (see ingest.validate)
    ("column_name", "varchar"),  # its column (key columns comma-joined for duplicate_key)
    ("value", "varchar"),  # the offending value as read, as text
    ("violations", "varchar"),  # every violation, "rule(column); ..."
    ("row_json", "varchar"),  # the whole row as read, JSON
    ("quarantined_at", "timestamp"),
]
INGESTED_FILES_COLUMNS = [
    ("table_name", "varchar"),
    ("file_path", "varchar"),  # relative to the landing dir
    ("sha256", "varchar"),
    ("size_bytes", "bigint"),
    ("status", "varchar"),  # loaded | duplicate (same content as duplicate_of; not read) | retracted
    ("duplicate_of", "varchar"),
    ("rows_read", "bigint"),
    ("rows_loaded", "bigint"),
    ("rows_quarantined", "bigint"),
    ("loaded_at", "timestamp"),
    ("modified_ns", "bigint"),  # the file's modification time: unchanged files are not re-hashed
]
REJECTED_FILES_COLUMNS = [  # the files still pending: the latest run's rejections per table
    ("table_name", "varchar"),
    ("file_path", "varchar"),
    ("sha256", "varchar"),  # null for a refused entry that is never read (e.g. a dangling link)
    ("size_bytes", "bigint"),
    ("reason", "varchar"),
    ("rejected_at", "timestamp"),  # the latest failed attempt
    ("first_rejected_at", "timestamp"),  # the first attempt that failed with this content
]


def raw_table(table_name: str) -> str:
    return f"raw.{table_name}"


def quarantine_table(table_name: str) -> str:
    return f"raw_quarantine.{table_name}"


def ensure_tables(session: WarehouseSession, contract: TableContract) -> None:
    """Create ``raw.<t>``, ``raw_quarantine.<t>`` and the ops tables if they do not exist yet."""
    contract_columns = [(c.name, c.sql_type) for c in contract.columns]
    session.create_table(raw_table(contract.name), contract_columns + LINEAGE_COLUMNS)
    session.ensure_unique_key(raw_table(contract.name), contract.key)
    session.create_table(quarantine_table(contract.name), QUARANTINE_COLUMNS)
    for name, columns in ((INGESTED_FILES, INGESTED_FILES_COLUMNS),
                          (REJECTED_FILES, REJECTED_FILES_COLUMNS)):
        session.create_table(name, columns)
        _add_missing_columns(session, name, columns)


def _add_missing_columns(session: WarehouseSession, table: str,
                         columns: list[tuple[str, str]]) -> None:
    """Add the columns a warehouse made before they existed lacks. Only then: ``alter table``
    locks the table exclusively until the transaction ends, which would make every table's
    ingest wait for every other one's on PostgreSQL."""
    # the columns of an empty result: portable to every backend (Spark has no information_schema)
    present = set(session.read(f"select * from {table} limit 0").columns)
    for column, sql_type in columns:
        if column not in present:
            session.execute(f"alter table {table} add column {column} {sql_type}")


def record_files(
    session: WarehouseSession,
    table_name: str,
    now: datetime,
    reports: list,
    duplicates: list[tuple[LandingFile, str]],
    rejected: list[tuple[LandingFile, str]],
) -> None:
    """Append loaded and duplicate files to ops.ingested_files; make the table's rows of
    ops.rejected_files this run's rejections (every rejected file is retried each run, so they
    are exactly the pending ones), keeping when each (path, content) was first rejected."""
    rows = [
        (
            table_name,
            r.file,
            r.sha256,
            r.size,
            "loaded",
            None,
            r.rows_read,
            r.rows_loaded,
            r.rows_quarantined,
            now,
            r.modified_ns,
        )
        for r in reports
    ]
    rows += [
        (table_name, f.rel_path, f.sha256, f.size, "duplicate", dup_of, 0, 0, 0, now,
         f.modified_ns)
        for f, dup_of in duplicates
    ]
    if rows:
        session.write(INGESTED_FILES, _frame(rows, INGESTED_FILES_COLUMNS), mode="append")
    before = session.read(f"select file_path, sha256, first_rejected_at from {REJECTED_FILES} "
                          "where table_name = ?", [table_name])
    if before.height:
        session.execute(f"delete from {REJECTED_FILES} where table_name = ?", [table_name])
    if rejected:
        first = {(p, sha): t for p, sha, t in before.iter_rows()}
        rows = [(table_name, f.rel_path, f.sha256, f.size, reason, now,
                 first.get((f.rel_path, f.sha256)) or now) for f, reason in rejected]
        session.write(REJECTED_FILES, _frame(rows, REJECTED_FILES_COLUMNS), mode="append")


_POLARS = {"varchar": pl.String, "bigint": pl.Int64, "timestamp": pl.Datetime("us")}


def _frame(rows: list[tuple], columns: list[tuple[str, str]]) -> pl.DataFrame:
    schema = {name: _POLARS[sql_type] for name, sql_type in columns}
    return pl.DataFrame(rows, schema=schema, orient="row")
