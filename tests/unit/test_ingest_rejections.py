"""File-level failures issue 11 added, on DuckDB and PostgreSQL: physical types that cannot hold
the contract type, text that is not UTF-8 in Parquet, duplicate column names, links and other
entries that are not landing files; every one is a rejected file with its reason, the other
files load, and ops.rejected_files holds only what is still pending.

Before these changes a list column (or a struct with a null) raised inside the batch cast and
rolled back the whole table's load, naming no file; a struct without nulls loaded as the text
'{"cl-000001"}'; symlinks out of the landing folder were followed and dangling ones ignored.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_project.contract import table
from dagster_project.ingest.load import ingest_table
from dagster_project.ingest.testing import landing_path, valid_rows, write_landing_file

NOW = dt.datetime(2026, 1, 1)


@pytest.fixture
def wh(any_warehouse):
    return any_warehouse


def ingest(wh, landing, table_name, now=NOW):
    with wh.session() as s:
        return ingest_table(s, table_name, landing, now)


def good_file(landing, table_name="clients"):
    return write_landing_file(valid_rows(table_name, 3), landing_path(landing, table_name,
                                                                      "2024-01-01"))


def bad_path(landing, table_name, name):
    path = landing / table_name / "date=2024-01-02" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def rejected_only(wh, landing, table_name, name):
    """Ingest; the good file loads, ``name`` is the one rejection: its reason."""
    report = ingest(wh, landing, table_name)
    assert report.rows_loaded == 3 and report.rows_quarantined == 0
    [(file, reason)] = report.rejected
    assert file == f"{table_name}/date=2024-01-02/{name}"
    assert wh.read("select file_path, reason from ops.rejected_files").rows() == [(file, reason)]
    return reason


STRUCT_WITH_NULL = [{"id": "cl-000001"}, None, {"id": "cl-000003"}]
STRUCT_FULL = [{"id": "cl-000001"}, {"id": "cl-000002"}, {"id": "cl-000003"}]


@pytest.mark.parametrize(("values", "dtype", "shown"), [
    ([["cl-1"], None, ["cl-2", "cl-3"]], pl.List(pl.String), "nested type List(String)"),
    (STRUCT_WITH_NULL, None, "nested type Struct({'id': String})"),
    (STRUCT_FULL, None, "nested type Struct({'id': String})"),  # was loaded as '{"cl-000001"}'
    ([["a", "b"]] * 3, pl.Array(pl.String, 2), "nested type Array(String, shape=(2,))"),
    ([dt.timedelta(1)] * 3, pl.Duration("us"), "type Duration(time_unit='us')"),
    ([True, False, True], pl.Boolean, "type Boolean"),
])
def test_a_column_whose_physical_type_cannot_hold_the_contract_type_rejects_the_file(
        wh, tmp_path, values, dtype, shown):
    good_file(tmp_path)
    df = valid_rows("clients", 3, dt.datetime(2024, 6, 1)).with_columns(
        pl.Series("business_name", values, dtype=dtype))
    df.write_parquet(bad_path(tmp_path, "clients", "nested.parquet"))
    reason = rejected_only(wh, tmp_path, "clients", "nested.parquet")
    assert reason == (f"column business_name has {shown} in the file, which cannot hold the "
                      "contract's string")


def test_a_time_of_day_in_a_timestamp_column_rejects_the_file(wh, tmp_path):
    good_file(tmp_path, "touchpoints")
    df = valid_rows("touchpoints", 3, dt.datetime(2024, 6, 1)).with_columns(
        pl.Series("touched_at", [dt.time(9, 30)] * 3))
    df.write_parquet(bad_path(tmp_path, "touchpoints", "time.parquet"))
    reason = rejected_only(wh, tmp_path, "touchpoints", "time.parquet")
    assert reason == ("column touched_at has type Time in the file, which cannot hold the "
                      "contract's timestamp")


def binary_names(landing, payloads: list[bytes]):
    df = valid_rows("clients", 3, dt.datetime(2024, 6, 1))
    arrow = df.to_arrow().set_column(1, "business_name", pa.array(payloads, pa.binary()))
    pq.write_table(arrow, bad_path(landing, "clients", "binary.parquet"))


def test_a_binary_column_of_utf8_text_loads_as_text(wh, tmp_path):
    binary_names(tmp_path, ["Café".encode(), b"Bar", b" Baz "])
    assert ingest(wh, tmp_path, "clients").rows_loaded == 3
    names = wh.read("select business_name from raw.clients order by _source_row")
    assert names["business_name"].to_list() == ["Café", "Bar", "Baz"]


def test_a_binary_column_that_is_not_utf8_rejects_the_file(wh, tmp_path):
    good_file(tmp_path)
    binary_names(tmp_path, [b"ok", "Caf\xe9".encode("latin-1"), b"x"])
    reason = rejected_only(wh, tmp_path, "clients", "binary.parquet")
    assert reason.startswith("a binary column among business_name is not valid UTF-8")


def test_a_parquet_string_column_that_is_not_utf8_rejects_the_file(wh, tmp_path):
    good_file(tmp_path)
    df = valid_rows("clients", 2, dt.datetime(2024, 6, 1)).to_arrow()
    bad = pa.array([b"ok", b"\xff"], pa.binary()).view(pa.string())  # unvalidated bytes
    pq.write_table(df.set_column(1, "business_name", bad), bad_path(tmp_path, "clients",
                                                                     "utf8.parquet"))
    reason = rejected_only(wh, tmp_path, "clients", "utf8.parquet")
    assert "not a readable Parquet file" in reason and "UTF-8" in reason


def test_a_repeated_csv_column_name_rejects_the_file(wh, tmp_path):
    """polars renames the second ``client_id`` to ``client_id_duplicated_0``, which the contract
    ignored: the second column was dropped without a word."""
    good_file(tmp_path)
    text = valid_rows("clients", 2, dt.datetime(2024, 6, 1)).write_csv()
    header, *rows = text.splitlines()
    text = "\n".join([header + ",client_id"] + [r + ",other" for r in rows]) + "\n"
    bad_path(tmp_path, "clients", "dup.csv").write_text(text)
    reason = rejected_only(wh, tmp_path, "clients", "dup.csv")
    assert reason == "duplicate column name(s) client_id in the header"


def test_a_repeated_parquet_column_name_rejects_the_file(wh, tmp_path):
    good_file(tmp_path)
    df = valid_rows("clients", 2, dt.datetime(2024, 6, 1)).to_arrow()
    twice = pa.Table.from_arrays([*df.columns, df.column("client_id")],
                                 names=[*df.column_names, "client_id"])
    pq.write_table(twice, bad_path(tmp_path, "clients", "dup.parquet"))
    reason = rejected_only(wh, tmp_path, "clients", "dup.parquet")
    assert reason.startswith("duplicate column name") and "client_id" in reason


def test_a_symlink_out_of_the_landing_folder_is_refused_and_not_read(wh, tmp_path):
    landing = tmp_path / "landing"
    good_file(landing)
    secret = tmp_path / "elsewhere" / "clients.parquet"
    write_landing_file(valid_rows("clients", 2, dt.datetime(2024, 6, 1)), secret)
    os.symlink(secret, bad_path(landing, "clients", "out.parquet"))
    reason = rejected_only(wh, landing, "clients", "out.parquet")
    assert reason == f"symbolic link to {secret.resolve()}, outside the landing folder; refused"


def test_a_relative_symlink_climbing_out_of_the_landing_folder_is_refused(wh, tmp_path):
    landing = tmp_path / "landing"
    good_file(landing)
    write_landing_file(valid_rows("clients", 2, dt.datetime(2024, 6, 1)), tmp_path / "x.csv")
    os.symlink("../../../x.csv", bad_path(landing, "clients", "up.csv"))
    assert "outside the landing folder; refused" in rejected_only(wh, landing, "clients", "up.csv")


def test_a_dangling_symlink_is_reported(wh, tmp_path):
    good_file(tmp_path)
    os.symlink(tmp_path / "gone.parquet", bad_path(tmp_path, "clients", "dead.parquet"))
    reason = rejected_only(wh, tmp_path, "clients", "dead.parquet")
    assert reason == f"dangling symbolic link (to {tmp_path / 'gone.parquet'}); not read"


def test_a_symlink_to_a_folder_is_reported_not_followed(wh, tmp_path):
    landing = tmp_path / "landing"
    good_file(landing)
    os.symlink(landing / "clients" / "date=2024-01-01",
               bad_path(landing, "clients", "copy_of_day"))
    reason = rejected_only(wh, landing, "clients", "copy_of_day")
    assert reason.endswith("which is not a regular file; not followed")


def test_a_symlink_to_a_file_inside_the_landing_folder_is_read(wh, tmp_path):
    landing = tmp_path / "landing"
    source = write_landing_file(valid_rows("clients", 2), landing / "incoming" / "c.parquet")
    os.symlink(source, bad_path(landing, "clients", "c.parquet"))
    report = ingest(wh, landing, "clients")
    assert report.rows_loaded == 2 and report.rejected == []


def test_a_named_pipe_is_reported_not_read(wh, tmp_path):
    good_file(tmp_path)
    os.mkfifo(bad_path(tmp_path, "clients", "pipe.csv"))  # reading it would block forever
    reason = rejected_only(wh, tmp_path, "clients", "pipe.csv")
    assert reason == "not a regular file (a pipe, socket or device); not read"


def test_a_file_name_that_is_not_utf8_is_refused_with_its_bytes_escaped(wh, tmp_path):
    good_file(tmp_path)
    folder = bad_path(tmp_path, "clients", "x").parent
    name = os.fsdecode(b"caf\xe9.csv")
    (folder / name).write_bytes(valid_rows("clients", 2).write_csv().encode())
    report = ingest(wh, tmp_path, "clients")
    assert report.rows_loaded == 3
    assert report.rejected == [("clients/date=2024-01-02/caf\\xe9.csv",
                                "file name is not valid UTF-8; rename the file")]


@pytest.mark.parametrize("name", ["UPPER.CSV", "Mixed.Parquet"])
def test_suffixes_are_matched_in_any_case(wh, tmp_path, name):
    df = valid_rows("clients", 2)
    path = bad_path(tmp_path, "clients", name)
    if name.lower().endswith(".csv"):
        path.write_text(df.write_csv())
    else:
        df.write_parquet(path)
    report = ingest(wh, tmp_path, "clients")
    assert report.rows_loaded == 2 and report.rejected == []


def test_rejected_files_holds_only_what_is_still_pending(wh, tmp_path):
    """A rejected file that is removed, or replaced by a readable one, leaves
    ops.rejected_files on the next run; one still broken keeps when it was first rejected."""
    broken = [bad_path(tmp_path, "clients", f"{n}.parquet") for n in ("a", "b", "c")]
    for path in broken:
        path.write_bytes(b"not parquet")
    ingest(wh, tmp_path, "clients", now=dt.datetime(2026, 1, 1))
    broken[0].unlink()
    write_landing_file(valid_rows("clients", 2), broken[1])
    ingest(wh, tmp_path, "clients", now=dt.datetime(2026, 1, 2))
    pending = wh.read("select file_path, rejected_at, first_rejected_at from ops.rejected_files")
    assert pending.rows() == [("clients/date=2024-01-02/c.parquet", dt.datetime(2026, 1, 2),
                               dt.datetime(2026, 1, 1))]


def test_the_first_rejection_time_restarts_when_the_content_changes(wh, tmp_path):
    path = bad_path(tmp_path, "clients", "a.parquet")
    path.write_bytes(b"not parquet")
    ingest(wh, tmp_path, "clients", now=dt.datetime(2026, 1, 1))
    path.write_bytes(b"still not parquet")
    ingest(wh, tmp_path, "clients", now=dt.datetime(2026, 1, 2))
    assert wh.read("select first_rejected_at from ops.rejected_files").item() == dt.datetime(
        2026, 1, 2)


# Every physical type a Parquet file can carry, against a column of every contract type: the
# load never raises; each file is loaded or quarantined row by row (rows read = loaded +
# quarantined) or rejected with a reason.
PHYSICAL = {
    "int8": pl.Series([1, 0, 2], dtype=pl.Int8),
    "uint64": pl.Series([1, 0, 2**63 + 5], dtype=pl.UInt64),
    "float32": pl.Series([1.0, 0.5, float("nan")], dtype=pl.Float32),
    "decimal": pl.Series([Decimal("1.00"), Decimal("0.50"), None], dtype=pl.Decimal(8, 2)),
    "bool": pl.Series([True, False, None]),
    "string": pl.Series(["1", " x ", "2024-01-05"]),
    "categorical": pl.Series(["1", "0", "2024-01-05"], dtype=pl.Categorical),
    "enum": pl.Series(["a", "b", "a"], dtype=pl.Enum(["a", "b"])),
    "binary": pl.Series([b"1", b"0", b"x"]),
    "date": pl.Series([dt.date(2024, 1, 5)] * 3),
    "datetime_ns_tz": pl.Series([dt.datetime(2024, 1, 5, 23)] * 3).dt.cast_time_unit("ns")
    .dt.replace_time_zone("Europe/Paris"),
    "time": pl.Series([dt.time(1, 2)] * 3),
    "duration": pl.Series([dt.timedelta(seconds=5)] * 3),
    "list": pl.Series([[1], [], None]),
    "struct": pl.Series([{"a": 1}, {"a": None}, None]),
    "null": pl.Series([None, None, None], dtype=pl.Null),
}
TARGETS = {  # (table, column) of each contract type
    "string": ("content", "campaign_id"),
    "int64": ("content", "hashtag_count"),
    "float64": ("content_generation_jobs", "quality_score"),
    "bool": ("content", "automated"),
    "timestamp": ("content", "published_at"),
    "date": ("content_engagement", "observed_date"),
}


@pytest.mark.parametrize("target", list(TARGETS))
def test_no_physical_type_crashes_the_load_of_any_contract_type(wh, tmp_path, target):
    table_name, name = TARGETS[target]
    assert table(table_name).column(name).type == target
    for i, (label, series) in enumerate(PHYSICAL.items()):
        df = valid_rows(table_name, 3, dt.datetime(2024, 1, 1) + dt.timedelta(days=i))
        df = df.with_columns(series.alias(name))
        df.write_parquet(tmp_path / table_name / f"{label}.parquet", mkdir=True)
    report = ingest(wh, tmp_path, table_name)
    rejected = {f.split("/")[-1] for f, _ in report.rejected}
    accounted = {f.file.split("/")[-1] for f in report.files} | rejected
    assert accounted == {f"{label}.parquet" for label in PHYSICAL}
    assert all(f.rows_read == 3 == f.rows_loaded + f.rows_quarantined for f in report.files)
    assert {"list.parquet", "struct.parquet", "duration.parquet", "time.parquet"} <= rejected


def test_a_rejected_files_table_from_before_gets_its_new_column(wh, tmp_path):
    with wh.session() as s:
        s.create_table("ops.rejected_files", [  # the columns before issue 11
            ("table_name", "varchar"), ("file_path", "varchar"), ("sha256", "varchar"),
            ("size_bytes", "bigint"), ("reason", "varchar"), ("rejected_at", "timestamp")])
    bad_path(tmp_path, "clients", "a.parquet").write_bytes(b"not parquet")
    ingest(wh, tmp_path, "clients")
    assert wh.read("select first_rejected_at from ops.rejected_files").item() == NOW


def test_a_file_without_read_permission_is_refused_and_the_others_load(wh, tmp_path, monkeypatch):
    """The tests run as root, who reads any file: the permission error is raised for it."""
    from dagster_project.ingest import files

    good_file(tmp_path)
    locked = bad_path(tmp_path, "clients", "locked.parquet")
    locked.write_bytes(b"secret")
    real = files.sha256_of

    def sha(path):
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(files, "sha256_of", sha)
    reason = rejected_only(wh, tmp_path, "clients", "locked.parquet")
    assert reason == "cannot be read (Permission denied); not read"


def test_a_file_removed_after_it_was_listed_is_rejected_not_a_crash(tmp_path):
    from dagster_project.ingest.read import UnreadableFile, read_file

    with pytest.raises(UnreadableFile, match=r"cannot be read \(No such file or directory\)"):
        read_file(tmp_path / "gone.csv", table("clients"))
