"""File-level behaviour of ingestion: rejections, lineage bookkeeping, idempotency, duplicates."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from dagster_project.contract import table
from dagster_project.ingest.load import ingest_table
from dagster_project.ingest.read import UnreadableFile, read_file
from dagster_project.ingest.testing import landing_path, valid_rows, write_landing_file

NOW = datetime(2026, 1, 1)
T = "conversions"


@pytest.fixture
def wh(any_warehouse):
    return any_warehouse


@pytest.fixture
def landing(tmp_path):
    return tmp_path / "landing"


def ingest(wh, landing, table_name=T, now=NOW):
    with wh.session() as s:
        return ingest_table(s, table_name, landing, now)


def csv_bytes(df: pl.DataFrame) -> bytes:
    return df.write_csv().encode()


def put(landing, name: str, data: bytes, table_name=T):
    path = landing / table_name / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def snapshot(wh) -> dict[str, list]:
    tables = [f"raw.{T}", f"raw_quarantine.{T}", "ops.ingested_files", "ops.rejected_files"]
    frames = {t: wh.read(f"select * from {t}") for t in tables}
    return {t: df.sort(df.columns, nulls_last=True).rows() for t, df in frames.items()}


def parquet_bytes(df: pl.DataFrame, tmp_path) -> bytes:
    path = tmp_path / "x.parquet"
    df.write_parquet(path)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("empty.csv", lambda df, tmp: b"", "empty file"),
        ("empty.parquet", lambda df, tmp: b"", "empty file"),
        ("cut.parquet", lambda df, tmp: parquet_bytes(df, tmp)[:-40], "not a readable Parquet"),
        ("junk.parquet", lambda df, tmp: b"PAR1 not really parquet", "not a readable Parquet"),
        (
            "quote.csv",
            lambda df, tmp: csv_bytes(df)[:-1] + b',"unterminated\n1,2\n',
            "malformed CSV",
        ),
        (
            "latin1.csv",
            lambda df, tmp: csv_bytes(df).replace(b"first", "premi\u00e8re".encode("latin-1")),
            "not valid UTF-8",
        ),
        ("utf16.csv", lambda df, tmp: df.write_csv().encode("utf-16"), "not valid UTF-8"),
        ("utf16le.csv", lambda df, tmp: df.write_csv().encode("utf-16-le"), "NUL bytes"),
        (
            "missing.csv",
            lambda df, tmp: csv_bytes(df.drop("revenue")),
            "missing required column(s) revenue",
        ),
        ("data.json", lambda df, tmp: df.write_json().encode(), "unknown file type '.json'"),
        ("README", lambda df, tmp: b"hello", "unknown file type '(no extension)'"),
    ],
)
def test_unreadable_file_is_rejected_with_a_reason_and_others_still_load(
    wh, landing, tmp_path, name, make, reason
):
    df = valid_rows(T, 3)
    write_landing_file(df, landing_path(landing, T, "2024-01-01"))
    put(landing, f"date=2024-01-02/{name}", make(valid_rows(T, 4, datetime(2024, 2, 1)), tmp_path))
    report = ingest(wh, landing)
    assert [f for f, _ in report.rejected] == [f"{T}/date=2024-01-02/{name}"]
    assert reason in report.rejected[0][1]
    assert report.rows_loaded == 3 and report.raw_row_count == 3
    rejected = wh.read("select file_path, reason from ops.rejected_files").rows()
    assert rejected == [(f"{T}/date=2024-01-02/{name}", report.rejected[0][1])]


def test_read_file_raises_unreadable_file_naming_the_path(tmp_path):
    path = put(tmp_path, "x.csv", b"")
    with pytest.raises(UnreadableFile) as err:
        read_file(path, table(T))
    assert err.value.path == str(path) and err.value.reason == "empty file (0 bytes)"


def test_rejected_file_is_retried_and_loads_once_fixed(wh, landing):
    path = put(landing, "late.csv", b"")
    assert ingest(wh, landing).rejected
    assert ingest(wh, landing).rejected  # still broken: retried, still one rejection row
    assert wh.read("select count(*) as n from ops.rejected_files").item() == 1
    path.write_bytes(csv_bytes(valid_rows(T, 2)))
    report = ingest(wh, landing)
    assert not report.rejected and report.rows_loaded == 2
    assert wh.read("select count(*) as n from ops.rejected_files").item() == 0


def test_missing_nullable_column_is_filled_with_nulls(wh, landing):
    df = valid_rows("content", 2).drop("campaign_id")
    write_landing_file(df, landing_path(landing, "content", "2024-01-01", "csv"))
    assert ingest(wh, landing, "content").rows_loaded == 2
    assert wh.read("select campaign_id from raw.content")["campaign_id"].null_count() == 2


def test_every_file_satisfies_rows_read_equals_loaded_plus_quarantined(wh, landing):
    good = valid_rows(T, 6)
    bad = good.with_columns(pl.col("revenue") - 100.0)  # all negative; also keys repeat good's
    write_landing_file(good, landing_path(landing, T, "2024-01-01"))
    write_landing_file(bad.head(4), landing_path(landing, T, "2024-01-02", "csv"))
    report = ingest(wh, landing)
    for f in report.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined
    recorded = wh.read("select * from ops.ingested_files")
    assert (recorded["rows_read"] == recorded["rows_loaded"] + recorded["rows_quarantined"]).all()
    assert recorded["rows_read"].sum() == 10
    assert wh.read(f"select count(*) from raw.{T}").item() == recorded["rows_loaded"].sum() == 6
    assert wh.read(f"select count(*) from raw_quarantine.{T}").item() == 4


def test_rerun_without_new_files_changes_nothing(wh, landing):
    write_landing_file(valid_rows(T, 5), landing_path(landing, T, "2024-01-01"))
    write_landing_file(
        valid_rows(T, 2).with_columns(pl.lit(-1.0).alias("revenue")),
        landing_path(landing, T, "2024-01-02", "csv"),
    )
    ingest(wh, landing)
    before = snapshot(wh)
    report = ingest(wh, landing, now=datetime(2026, 1, 2))
    assert (report.files, report.duplicates, report.rejected) == ([], [], [])
    assert snapshot(wh) == before


def test_same_content_under_a_new_name_is_skipped_as_a_duplicate_delivery(wh, landing):
    df = valid_rows(T, 3)
    first = write_landing_file(df, landing_path(landing, T, "2024-01-01"))
    ingest(wh, landing)
    put(landing, "redelivered/again.parquet", first.read_bytes())
    report = ingest(wh, landing)
    assert report.files == [] and report.rows_quarantined == 0
    assert report.duplicates == [
        (f"{T}/redelivered/again.parquet", f"{T}/{first.relative_to(landing / T)}")
    ]
    status = wh.read("select status, duplicate_of from ops.ingested_files order by status")
    assert status["status"].to_list() == ["duplicate", "loaded"]
    assert ingest(wh, landing).duplicates == []  # recorded: not reported again


def test_changed_content_under_the_same_path_is_loaded_again(wh, landing):
    path = landing_path(landing, T, "2024-01-01")
    write_landing_file(valid_rows(T, 2), path)
    ingest(wh, landing)
    write_landing_file(valid_rows(T, 3), path)  # two old keys, one new
    report = ingest(wh, landing)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 2)


def test_raw_table_exists_with_contract_types_before_any_file_arrives(wh, landing):
    report = ingest(wh, landing, "content_engagement")
    assert report.raw_row_count == 0
    columns = dict(
        wh.read(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'content_engagement'"
        ).rows()
    )
    contract = table("content_engagement")
    assert [c for c in columns if not c.startswith("_")] == contract.column_names
    assert columns["observed_date"].lower() == "date" and columns["likes"].lower() == "bigint"
    assert {"_source_file", "_source_row", "_loaded_at"} <= set(columns)
    assert wh.table_exists("raw_quarantine.content_engagement")


def test_failed_load_rolls_back_everything(wh, landing, monkeypatch):
    write_landing_file(valid_rows(T, 3), landing_path(landing, T, "2024-01-01"))
    ingest(wh, landing)
    before = snapshot(wh)
    write_landing_file(
        valid_rows(T, 3, datetime(2024, 3, 1)), landing_path(landing, T, "2024-03-01")
    )
    from dagster_project.ingest import load

    monkeypatch.setattr(
        load, "record_files", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))
    )
    with pytest.raises(RuntimeError, match="boom"):
        ingest(wh, landing)
    assert snapshot(wh) == before


def test_big_deliveries_load_in_chunks_with_keys_checked_across_chunks(wh, landing, monkeypatch):
    from dagster_project.ingest import load

    monkeypatch.setattr(load, "BATCH_ROWS", 4)
    rows = valid_rows(T, 10)
    write_landing_file(rows.head(6), landing_path(landing, T, "2024-01-01"))
    write_landing_file(rows.tail(6), landing_path(landing, T, "2024-01-02"))  # rows 5-6 repeat
    report = ingest(wh, landing)
    assert [(f.rows_read, f.rows_loaded, f.rows_quarantined) for f in report.files] == [
        (6, 6, 0),
        (6, 4, 2),
    ]
    assert report.raw_row_count == 10
    assert wh.read(f"select distinct rule from raw_quarantine.{T}")["rule"].to_list() == [
        "duplicate_key"
    ]


def test_a_copy_of_an_unreadable_file_is_rejected_too(wh, landing):
    put(landing, "a.csv", b"")
    put(landing, "b.csv", b"")
    report = ingest(wh, landing)
    assert sorted(f for f, _ in report.rejected) == [f"{T}/a.csv", f"{T}/b.csv"]
    assert report.duplicates == []


def test_files_already_loaded_are_not_read_again_but_a_rewrite_is(wh, landing, monkeypatch):
    """An unchanged file (same path, size and modification time as recorded) keeps its recorded
    sha256 without being read; a file rewritten in place with content of the same size is
    hashed again and its new rows load."""
    from dagster_project.ingest import files

    path = put(landing, "a.csv", csv_bytes(valid_rows(T, 3)))
    ingest(wh, landing)
    hashed = []
    real = files.sha256_of
    monkeypatch.setattr(files, "sha256_of", lambda p: hashed.append(p.name) or real(p))
    assert ingest(wh, landing).files == [] and hashed == []
    rows = valid_rows(T, 3).with_columns(pl.col("conversion_id").str.replace("^.", "z"))
    rewritten = csv_bytes(rows)
    assert len(rewritten) == path.stat().st_size  # same size, other keys
    path.write_bytes(rewritten)
    report = ingest(wh, landing)
    assert hashed == ["a.csv"] and report.rows_loaded == 3
