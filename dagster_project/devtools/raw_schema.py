"""The raw schema of the landing contract in a DuckDB file, for dbt builds outside the pipeline
(the dbt tests' hand-made warehouse, the attribution truth checks)."""

from __future__ import annotations

import duckdb

from dagster_project.contract import load_contract

LINEAGE_COLUMNS = {"_source_file": "varchar", "_source_row": "bigint", "_loaded_at": "timestamp"}


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create raw.<table> for every contract table (dropping any previous one)."""
    con.execute("create schema if not exists raw")
    for table in load_contract().values():
        cols = [f'"{c.name}" {c.sql_type}' for c in table.columns]
        cols += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS.items()]
        con.execute(f"drop table if exists raw.{table.name}")
        con.execute(f"create table raw.{table.name} ({', '.join(cols)})")
