"""Copy the raw schema of a DuckDB warehouse into a Spark server, for dbt builds on Spark.

    python -m dagster_project.devtools.spark_raw_copy --duckdb data/warehouse.duckdb \
        --connect-url sc://127.0.0.1:15002

A stand-in for the Spark ingest (which reads the landing files with Spark itself): the rows
that a DuckDB ingest loaded into ``raw.*`` go over Spark Connect as Arrow batches into Parquet
tables ``raw.<table>`` of the server's catalog, with the contract's column types (and the
ingest's lineage columns), so that ``dbt build --target spark`` has its sources and its
results can be compared with the DuckDB build of the very same rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from dagster_project.contract import load_contract
from dagster_project.ingest.tables import LINEAGE_COLUMNS
from dagster_project.warehouse.spark_statements import spark_type


def spark_columns(table_name: str) -> dict[str, str]:
    """Column name -> Spark SQL type of raw table ``table_name`` (contract columns, then lineage:
    the ingest's portable types, spelled for Spark); Spark's `timestamp` is read in the session
    zone (UTC here)."""
    table = load_contract()[table_name]
    columns = [(c.name, c.sql_type) for c in table.columns] + LINEAGE_COLUMNS
    return {name: spark_type(sql_type) for name, sql_type in columns}


def copy_raw_tables(duckdb_path: Path | str, spark, where: str = "true",
                    append: bool = False) -> dict[str, int]:
    """Replace (or, with ``append``, add to) every contract table ``raw.<table>`` on ``spark``
    (a SparkSession, e.g. Spark Connect) the rows of the DuckDB file's ``raw.<table>`` that
    satisfy the SQL condition ``where``; rows copied per table. Appending the rest of the rows
    later, with a later ``_loaded_at``, is a second load for the incremental models."""
    from pyspark.sql import functions as F

    spark.sql("create database if not exists raw")
    copied = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for name in load_contract():
            columns = spark_columns(name)
            quoted = ", ".join(f'"{c}"' for c in columns)
            arrow = con.sql(f"select {quoted} from raw.{name} where {where}").to_arrow_table()
            if arrow.num_rows == 0:  # Spark infers no schema from no rows
                ddl = ", ".join(f"`{c}` {t}" for c, t in columns.items())
                frame = spark.createDataFrame([], schema=ddl)
            else:
                frame = spark.createDataFrame(arrow).select(
                    [F.col(f"`{c}`").cast(t).alias(c) for c, t in columns.items()])
            frame.write.mode("append" if append else "overwrite").format("parquet").saveAsTable(f"raw.{name}")
            copied[name] = arrow.num_rows
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="copy raw.* from a DuckDB file to Spark")
    parser.add_argument("--duckdb", type=Path, required=True)
    parser.add_argument("--connect-url", required=True, help="sc://host:port")
    args = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(args.connect_url).getOrCreate()
    try:
        for name, rows in copy_raw_tables(args.duckdb, spark).items():
            print(f"raw.{name}: {rows} rows")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
