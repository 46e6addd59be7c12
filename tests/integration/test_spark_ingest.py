"""Ingest into the Spark warehouse finds exactly what ingest into DuckDB finds from the same
files: the raw rows, the quarantined rows (with rule, column and value), the ledger of loaded,
duplicate and rejected files; and a second run loads nothing (a file is never loaded twice).

This is today's ingest (files read and validated with polars in this process) writing through
the Spark backend; reading the files and validating them inside Spark (issue 19 part 3) is not
built yet. The second method is the DuckDB ingest of the same landing folder.
"""

from __future__ import annotations

import shutil
from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dagster_project.contract import load_contract
from dagster_project.ingest.load import ingest_table
from dagster_project.ingest.tables import (
    INGESTED_FILES,
    REJECTED_FILES,
    quarantine_table,
    raw_table,
)
from dagster_project.warehouse import Warehouse

pytestmark = pytest.mark.spark

NOW = datetime(2099, 6, 1)  # one load time for both warehouses, after every simulated day
DROP = "date=2099-01-01"


@pytest.fixture(scope="module")
def landing(tiny_simulation, tmp_path_factory):
    """The tiny simulation plus a drop of clients: a CSV with a row whose key is already in raw,
    a row whose signup time is not a time and a valid new row; a copy of a simulated file under
    another name; an empty file."""
    landing = tmp_path_factory.mktemp("spark_ingest") / "landing"
    shutil.copytree(tiny_simulation / "landing", landing)
    first = min((landing / "clients").rglob("*.parquet"))
    drop = landing / "clients" / DROP
    drop.mkdir(parents=True)
    shutil.copy(first, drop / "copy.parquet")
    (drop / "empty.csv").write_bytes(b"")
    row = pl.read_parquet(first).head(1).cast(pl.String)
    pl.concat([
        row,
        row.with_columns(client_id=pl.lit("c-new-1"), signup_at=pl.lit("not a time")),
        row.with_columns(client_id=pl.lit("c-new-2")),
    ]).write_csv(drop / "drop.csv")
    return landing


def ingest_everything(warehouse: Warehouse, landing) -> dict[str, int]:
    """Every contract table ingested, one session each (as the ingest assets do): files loaded."""
    loaded = {}
    for name in load_contract():
        with warehouse.session() as s:
            loaded[name] = len(ingest_table(s, name, landing, now=NOW).files)
    return loaded


def tables(warehouse: Warehouse) -> dict[str, pl.DataFrame]:
    names = [INGESTED_FILES, REJECTED_FILES]
    for name in load_contract():
        names += [raw_table(name), quarantine_table(name)]
    out = {}
    for name in names:
        df = warehouse.read(f"select * from {name}")
        out[name] = df.sort(df.columns, nulls_last=True)
    return out


def test_spark_ingest_finds_the_rows_quarantine_and_ledger_of_the_duckdb_ingest(
        landing, tmp_path, request):
    duck = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    spark = Warehouse(backend="spark", spark_connect_url=request.getfixturevalue("spark_catalog"))
    loaded = ingest_everything(spark, landing)
    assert loaded == ingest_everything(duck, landing)
    expected, got = tables(duck), tables(spark)
    for name, frame in expected.items():
        try:
            assert_frame_equal(got[name], frame, check_column_order=False)
        except AssertionError as exc:
            raise AssertionError(f"{name} differs on Spark: {exc}") from None
    # the drop was judged as written in the fixture, not only alike on both
    quarantined = expected[quarantine_table("clients")]
    assert sorted(zip(quarantined["source_row"], quarantined["rule"])) == [
        (1, "duplicate_key"), (2, "type")]
    ledger = expected[INGESTED_FILES].filter(pl.col("file_path").str.contains(DROP))
    assert sorted(zip(ledger["file_path"], ledger["status"], ledger["rows_loaded"])) == [
        (f"clients/{DROP}/copy.parquet", "duplicate", 0), (f"clients/{DROP}/drop.csv", "loaded", 1)]
    assert expected[REJECTED_FILES]["file_path"].to_list() == [f"clients/{DROP}/empty.csv"]

    again = ingest_everything(spark, landing)
    assert set(again.values()) == {0}
    assert {n: f.height for n, f in tables(spark).items()} == {n: f.height for n, f in got.items()}
