"""The ingest assets and checks through Dagster: metadata, rejected files as a failed check and
an alert event (the asset itself succeeds), wiring."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from dagster_project.contract import RAW_TABLES
from dagster_project.defs.ingest.assets import ingest_assets
from dagster_project.defs.ingest.checks import ingest_checks
from dagster_project.ingest.testing import landing_path, valid_rows, write_landing_file
from dagster_project.warehouse import Warehouse

T = "content"
KEY = dg.AssetKey(["raw", T])


@pytest.fixture
def wh(any_warehouse):
    return any_warehouse


def run(wh, landing):
    asset = next(a for a in ingest_assets if a.key == KEY)
    check = next(c for c in ingest_checks if any(k.asset_key == KEY for k in c.check_keys))
    return dg.materialize(
        [asset, check],
        resources={"warehouse": wh},
        run_config={"ops": {"raw__content": {"config": {"landing_dir": str(landing)}}}},
        raise_on_error=False,
    )


def test_materializing_an_ingest_asset_reports_counts_files_and_schema(wh, tmp_path):
    landing = tmp_path / "landing"
    df = valid_rows(T, 4)
    write_landing_file(df, landing_path(landing, T, "2024-01-01"))
    bad = df.head(1).with_columns(
        pl.lit("myspace").alias("platform"), pl.lit("x").alias("content_id")
    )
    write_landing_file(bad, landing_path(landing, T, "2024-01-02", "csv"))
    result = run(wh, landing)
    assert result.success
    [mat] = result.asset_materializations_for_node("raw__content")
    md = mat.metadata
    assert md["dagster/row_count"].value == 4
    assert (md["rows_read"].value, md["rows_loaded"].value, md["rows_quarantined"].value) == (
        5,
        4,
        1,
    )
    assert md["files_loaded"].value == 2
    assert "allowed_values (1)" in md["files"].value
    assert [c.name for c in md["dagster/column_schema"].schema.columns][:2] == [
        "content_id",
        "client_id",
    ]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"content_keys": True, "content_expectations": True, "content_files": True}


def broken_file(landing, name="broken.parquet"):
    broken = landing / T / "date=2024-01-02" / name
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"not parquet")
    return broken


def test_an_unreadable_file_fails_the_files_check_not_the_asset(wh, tmp_path):
    """The good files load and the asset materializes, so what depends on the table still
    builds on the rows that did load; the rejected file is a failed check naming it."""
    landing = tmp_path / "landing"
    write_landing_file(valid_rows(T, 3), landing_path(landing, T, "2024-01-01"))
    broken_file(landing)
    result = run(wh, landing)
    assert result.success
    [mat] = result.asset_materializations_for_node("raw__content")
    assert mat.metadata["files_rejected"].value == 1
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    files = checks["content_files"]
    assert not files.passed and files.severity == dg.AssetCheckSeverity.ERROR
    assert files.metadata["pending_files"].value == 1
    assert ("content/date=2024-01-02/broken.parquet: not a readable Parquet file"
            in files.metadata["rejected"].value)
    assert checks["content_keys"].passed
    assert wh.read("select count(*) from raw.content").item() == 3


def test_a_rejected_file_raises_one_alert_event_however_many_runs_retry_it(wh, tmp_path):
    landing = tmp_path / "landing"
    broken_file(landing)
    run(wh, landing)
    run(wh, landing)
    events = wh.read("select source, severity, entity, title, details from analytics.alert_events")
    assert events.select("source", "severity", "entity", "title").rows() == [
        ("ingest", "critical", "raw.content/content/date=2024-01-02/broken.parquet",
         "Rejected landing file content/date=2024-01-02/broken.parquet")]
    assert '"reason": "not a readable Parquet file' in events["details"][0]
    broken_file(landing, "second.parquet")
    assert run(wh, landing).success
    assert wh.read("select count(*) from analytics.alert_events").item() == 2


def test_the_files_check_passes_again_once_the_file_is_removed(wh, tmp_path):
    landing = tmp_path / "landing"
    broken = broken_file(landing)
    run(wh, landing)
    broken.unlink()
    checks = {e.check_name: e for e in run(wh, landing).get_asset_check_evaluations()}
    assert checks["content_files"].passed
    assert wh.read("select count(*) from ops.rejected_files").item() == 0


def test_one_asset_and_three_checks_per_contract_table_with_a_blocking_key_check():
    assert sorted(a.key.path[1] for a in ingest_assets) == sorted(RAW_TABLES)
    specs = [s for c in ingest_checks for s in c.check_specs]
    specs += [s for a in ingest_assets for s in a.check_specs]
    assert sorted(s.name for s in specs) == sorted(
        f"{t}_{check}" for t in RAW_TABLES for check in ("keys", "expectations", "files"))
    assert {s.name for s in specs if s.blocking} == {f"{t}_keys" for t in RAW_TABLES}
    spec = next(iter(ingest_assets[0].specs))
    assert (spec.group_name, spec.owners) == ("ingest", ["team:data-platform"])
    assert "Rules" in spec.description and "python" in spec.kinds


def test_definitions_resolve_with_the_warehouse_resource(tmp_path):
    defs = dg.Definitions(
        assets=ingest_assets,
        asset_checks=ingest_checks,
        resources={"warehouse": Warehouse(duckdb_path=str(tmp_path / "w"))},
    )
    graph = defs.resolve_asset_graph()
    assert {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"} == {
        dg.AssetKey(["raw", t]) for t in RAW_TABLES
    }


DUPLICATE_FROM_EL_TOOL = (  # an old load with a bad platform and a key already in raw
    "insert into raw.content select content_id, client_id, 'myspace', content_type, created_at, "
    "published_at, automated, viral_optimized, hashtag_count, campaign_id, 'el-tool', 1, "
    "cast('2023-12-31' as timestamp) from raw.content "
    "where content_id = (select min(content_id) from raw.content)")


def test_key_check_counts_duplicates_across_loads_and_value_rules_look_at_the_latest_load(
        wh, tmp_path):
    """Rows that reached raw by another path (an EL tool writing raw directly): a key repeated
    from an earlier load fails the blocking key check over the whole table; a bad value in an
    old load no longer fails the value rules once a newer load is the latest batch. On
    PostgreSQL the table's unique index refuses such a row; a table without the index (dropped
    here, as in a warehouse an EL tool created) is caught by the check, and ingest goes on
    without recreating the index while keys repeat."""
    landing = tmp_path / "landing"
    write_landing_file(valid_rows(T, 4), landing_path(landing, T, "2024-01-01"))
    assert run(wh, landing).success
    if wh.backend == "postgres":
        import psycopg

        with pytest.raises(psycopg.errors.UniqueViolation), wh.session() as s:
            s.execute(DUPLICATE_FROM_EL_TOOL)
        wh.execute("drop index raw.content_key")
    wh.execute(DUPLICATE_FROM_EL_TOOL)
    first = run(wh, landing)
    checks = {e.check_name: e for e in first.get_asset_check_evaluations()}
    assert not checks["content_keys"].passed
    assert checks["content_keys"].metadata["duplicate_keys"].value == 1
    assert checks["content_expectations"].passed  # the latest load holds the 4 good rows
    assert checks["content_expectations"].metadata["rows_checked"].value == 4


def test_raw_tables_have_a_unique_index_on_the_contract_key_on_postgres(pg_dsn, tmp_path):
    wh = Warehouse(backend="postgres", postgres_dsn=pg_dsn)
    assert run(wh, tmp_path / "landing").success
    indexes = wh.read("select indexdef from pg_indexes where schemaname = 'raw' "
                      "and tablename = 'content'")["indexdef"].to_list()
    assert indexes == ["CREATE UNIQUE INDEX content_key ON raw.content USING btree (content_id)"]
