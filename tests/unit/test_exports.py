"""Scheduled exports (dagster_project/exports): round trip, manifest, atomicity, reruns.

Real warehouses (a DuckDB file, the throwaway PostgreSQL); expected values are the warehouse's
own rows and counts and checksums computed here with hashlib.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dagster_project.exports import ExportConfig, export_tables, load_config, read_manifest
from dagster_project.settings import PROJECT_ROOT

DAY = date(2025, 2, 19)
REVENUE = pl.DataFrame({
    "client_id": ["cl-2", "cl-1", "cl-1", "cl-3"],
    "day": [date(2025, 1, 2), date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 1)],
    "revenue": [10.5, 0.1 + 0.2, 1e-12, None],
    "orders": [3, 1, 0, None],
    "note": ['a, "quoted" note', "two\nlines", None, ""],
    "is_trial": [True, False, None, True],
    "seen_at": [datetime(2025, 1, 2, 3, 4, 5, 678000), None, datetime(2025, 1, 1),
                datetime(2025, 1, 3)],
})
MRR = pl.DataFrame({"date_day": [date(2025, 1, 1)], "mrr": [99.0]})
TABLES = ("reporting.rpt_revenue", "reporting.rpt_mrr")


@pytest.fixture
def warehouse(any_warehouse):
    with any_warehouse.session() as s:
        s.execute("create schema if not exists reporting")
        s.write("reporting.rpt_revenue", REVENUE)
        s.write("reporting.rpt_mrr", MRR)
    return any_warehouse


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "exports"


def export(warehouse, folder: Path, tables=TABLES, day=DAY) -> dict:
    with warehouse.session() as s:
        return export_tables(s, ExportConfig(folder, tuple(tables)), day)


def folder_state(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_parquet_and_csv_read_back_equal_the_warehouse_table(warehouse, out):
    export(warehouse, out)
    with warehouse.session() as s:
        stored = s.read("select * from reporting.rpt_revenue")
    key = ["client_id", "day"]
    parquet = pl.read_parquet(out / "2025-02-19" / "rpt_revenue.parquet")
    assert_frame_equal(parquet.sort(key), stored.sort(key))
    csv = pl.read_csv(out / "2025-02-19" / "rpt_revenue.csv", schema=stored.schema)
    # a null is an empty field, an empty string a quoted one: both read back as written
    assert_frame_equal(csv.sort(key), stored.sort(key))


def test_the_manifest_lists_each_file_with_the_tables_rows_and_its_sha256(warehouse, out):
    manifest = export(warehouse, out)
    folder = out / "2025-02-19"
    assert read_manifest(folder) == manifest
    assert manifest["export_date"] == "2025-02-19"
    assert [e["table"] for e in manifest["tables"]] == list(TABLES)
    listed = {"manifest.json"}
    with warehouse.session() as s:
        for entry in manifest["tables"]:
            assert entry["rows"] == s.scalar(f"select count(*) from {entry['table']}")
            for f in entry["files"]:
                data = (folder / f["file"]).read_bytes()
                assert f["sha256"] == hashlib.sha256(data).hexdigest()
                assert f["bytes"] == len(data)
                listed.add(f["file"])
    assert {p.name for p in folder.iterdir()} == listed
    assert len(listed) == 1 + 2 * len(TABLES)


def test_a_rerun_of_a_date_gives_the_same_bytes_and_one_folder(warehouse, out):
    first = export(warehouse, out)
    before = folder_state(out)
    assert export(warehouse, out) == first
    assert folder_state(out) == before
    assert [p.name for p in out.iterdir()] == ["2025-02-19"]


def test_an_export_failing_midway_leaves_the_previous_export_and_no_partial_folder(
        warehouse, out):
    export(warehouse, out)
    before = folder_state(out)
    with pytest.raises(Exception, match="rpt_missing"):  # read after rpt_revenue was written
        export(warehouse, out, tables=("reporting.rpt_revenue", "reporting.rpt_missing"))
    with pytest.raises(Exception, match="rpt_missing"):
        export(warehouse, out, tables=("reporting.rpt_revenue", "reporting.rpt_missing"),
               day=date(2025, 2, 20))
    assert folder_state(out) == before  # nothing of either failed export is left


def test_a_file_write_failing_midway_publishes_nothing(tmp_path):
    """polars cannot write a list column to CSV: it fails after the table's Parquet file."""
    from dagster_project.warehouse import Warehouse

    warehouse = Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
    with warehouse.session() as s:
        s.execute("create schema reporting")
        s.execute("create table reporting.rpt_tags as select 1 as id, [1, 2] as tags")
    out = tmp_path / "exports"
    with pytest.raises(pl.exceptions.ComputeError, match="nested"):
        export(warehouse, out, tables=("reporting.rpt_tags",))
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("tables", "rule"), [
    ((), "at least one"),
    (("marts.fct_revenue_daily",), "not a reporting"),
    (("reporting.rpt_x; drop table y",), "not a reporting"),
    (("reporting.rpt_mrr", "reporting.rpt_mrr"), "listed twice"),
])
def test_impossible_table_lists_raise_naming_the_rule(tables, rule, out):
    with pytest.raises(ValueError, match=rule):
        export_tables(None, ExportConfig(out, tables), DAY)  # refused before any read


def test_the_configured_tables_are_reporting_models_of_the_dbt_project(tmp_path):
    config = load_config(tmp_path)
    assert config.folder == tmp_path / "exports"
    models = {p.stem for p in (PROJECT_ROOT / "dbt" / "models" / "reporting").rglob("rpt_*.sql")}
    assert {t.split(".")[1] for t in config.tables} <= models


def test_the_export_job_writes_the_dated_folder_below_the_data_dir(warehouse, tmp_path,
                                                                   monkeypatch):
    from dagster_project.defs.exports.jobs import export_reporting

    monkeypatch.setenv("BI_DATA_DIR", str(tmp_path / "data"))
    result = export_reporting.execute_in_process(
        resources={"warehouse": warehouse},
        run_config={"ops": {"export_reporting_tables": {"config": {
            "export_date": "2025-02-19", "tables": list(TABLES)}}}})
    assert result.success
    manifest = read_manifest(tmp_path / "data" / "exports" / "2025-02-19")
    assert {e["table"]: e["rows"] for e in manifest["tables"]} == {
        "reporting.rpt_revenue": REVENUE.height, "reporting.rpt_mrr": MRR.height}


def test_the_daily_schedule_exports_into_the_folder_of_its_tick():
    from dagster_project.defs.exports.jobs import export_reporting_daily

    tick = datetime(2025, 3, 4, 3, 30)
    request = export_reporting_daily(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.run_config == {
        "ops": {"export_reporting_tables": {"config": {"export_date": "2025-03-04"}}}}
    assert export_reporting_daily.cron_schedule == "30 3 * * *"
