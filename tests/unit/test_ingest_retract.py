"""Retracting a loaded landing file (``python -m dagster_project.ingest.retract``), on DuckDB and
on PostgreSQL with the production roles (as bi_writer, the audit log made by the roles command).

The way out of an orphan row that passed ingest: its file's rows leave raw and the quarantine,
the audit log says who did it and why, and a corrected file then loads in its place.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import polars as pl
import psycopg
import pytest

from dagster_project.audit import AUDIT_LOG
from dagster_project.ingest import retract
from dagster_project.ingest.load import ingest_table
from dagster_project.ingest.testing import landing_path, valid_rows, write_landing_file
from dagster_project.warehouse import Warehouse

T = "conversions"
NOW = datetime(2026, 1, 1)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def wh(request, tmp_path):
    if request.param == "duckdb":
        yield Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))
        return
    from dagster_project.postgres.roles import apply_roles

    server = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute(f'create database "{name}"')
    apply_roles(server.conninfo(name))
    yield Warehouse(backend="postgres", postgres_dsn=server.conninfo(name, user="bi_writer"))
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')


def ingest(wh, landing):
    with wh.session() as s:
        return ingest_table(s, T, landing, NOW)


def second_file() -> pl.DataFrame:
    return valid_rows(T, 4, datetime(2024, 2, 1)).with_columns(pl.col("conversion_id") + "-b")


@pytest.fixture
def loaded(wh, tmp_path):
    """Two files of conversions loaded; the second has one quarantined row."""
    landing = tmp_path / "landing"
    keep = write_landing_file(valid_rows(T, 3), landing_path(landing, T, "2024-01-01"))
    bad = second_file().with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(-1.0).otherwise(pl.col("revenue")).alias("revenue"))
    gone = write_landing_file(bad, landing_path(landing, T, "2024-02-01"))
    report = ingest(wh, landing)
    assert (report.rows_loaded, report.rows_quarantined) == (6, 1)
    return landing, keep.relative_to(landing).as_posix(), gone.relative_to(landing).as_posix()


def retract_gone(wh, file):
    with wh.session() as s:
        return retract.retract_file(s, T, file, "alice@example.com", "orders of an unknown client")


def test_retracting_a_file_removes_its_raw_and_quarantined_rows_and_nothing_else(wh, loaded):
    _, keep, gone = loaded
    done = retract_gone(wh, gone)
    assert (done.rows_deleted, done.quarantine_rows_deleted) == (3, 1)
    per_file = dict(wh.read(f"select _source_file, count(*) as n from raw.{T} group by 1").rows())
    assert per_file == {keep: 3}
    assert wh.read(f"select count(*) from raw_quarantine.{T}").item() == 0
    status = dict(wh.read("select file_path, status from ops.ingested_files").rows())
    assert status == {keep: "loaded", gone: "retracted"}


def test_a_retraction_is_audited_with_who_why_and_the_counts(wh, loaded):
    _, _, gone = loaded
    retract_gone(wh, gone)
    [(actor, action, obj, before, after)] = wh.read(
        f"select actor, action, object, cast(before as varchar) as b, cast(after as varchar) as a "
        f"from {AUDIT_LOG}").rows()
    assert (actor, action, obj) == ("alice@example.com", "retract_file", f"raw.{T}/{gone}")
    before, after = json.loads(before), json.loads(after)
    assert (before["status"], before["raw_rows"], before["quarantine_rows"]) == ("loaded", 3, 1)
    assert [v["rows_loaded"] for v in before["versions"]] == [3]
    assert after == {"status": "retracted", "reason": "orders of an unknown client",
                     "raw_rows": 0, "quarantine_rows": 0}


def test_a_corrected_file_under_the_same_name_loads_with_the_same_keys(wh, loaded):
    landing, _, gone = loaded
    retract_gone(wh, gone)
    corrected = second_file()  # the same keys, every revenue valid
    write_landing_file(corrected, landing / gone)
    report = ingest(wh, landing)
    assert (report.rows_loaded, report.rows_quarantined) == (4, 0)
    assert wh.read(f"select count(*) from raw.{T}").item() == 7


def test_the_retracted_content_is_not_loaded_again_under_any_name(wh, loaded):
    landing, _, gone = loaded
    retract_gone(wh, gone)
    assert ingest(wh, landing).files == []  # the same bytes still in place
    (landing / T / "again.parquet").write_bytes((landing / gone).read_bytes())
    report = ingest(wh, landing)
    assert report.files == [] and report.duplicates == [(f"{T}/again.parquet", gone)]
    assert wh.read(f"select count(*) from raw.{T}").item() == 3


@pytest.mark.parametrize(("table_name", "file", "actor", "message"), [
    (T, "conversions/nope.parquet", "alice", "has no loaded record for table conversions"),
    ("orders", "x", "alice", "is not a landing-contract table"),
    (T, "x", " ", "actor and reason must not be empty"),
])
def test_a_retraction_that_cannot_apply_raises_and_changes_nothing(wh, loaded, table_name, file,
                                                                   actor, message):
    before = wh.read(f"select count(*) from raw.{T}").item()
    with pytest.raises(ValueError, match=message), wh.session() as s:
        retract.retract_file(s, table_name, file, actor, "a reason")
    assert wh.read(f"select count(*) from raw.{T}").item() == before


def test_the_command_retracts_and_says_a_full_refresh_is_next(tmp_path, monkeypatch, capsys):
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("BI_WAREHOUSE", "duckdb")
    monkeypatch.setenv("BI_DUCKDB_PATH", str(db))
    wh = Warehouse(duckdb_path=str(db))
    landing = tmp_path / "landing"
    path = write_landing_file(valid_rows(T, 2), landing_path(landing, T, "2024-01-01"))
    ingest(wh, landing)
    file = path.relative_to(landing).as_posix()
    args = ["--table", T, "--file", file, "--actor", "bob", "--reason", "test"]
    assert retract.main(args) == 0
    out = capsys.readouterr().out
    assert "retracted 2 rows of raw.conversions" in out and "full_refresh: true" in out
    assert retract.main(args) == 2  # nothing loaded under that name any more
    assert "nothing retracted" in capsys.readouterr().err


@pytest.mark.postgres
def test_on_postgres_without_the_roles_setup_nothing_is_retracted(pg_server, pg_dsn, tmp_path,
                                                                 monkeypatch, capsys):
    """No audit log (the roles command never ran): record_audit refuses, so the deletion it
    would have recorded rolls back with it, and the command says why instead of a traceback."""
    wh = Warehouse(backend="postgres", postgres_dsn=pg_dsn)
    landing = tmp_path / "landing"
    path = write_landing_file(valid_rows(T, 2), landing_path(landing, T, "2024-01-01"))
    ingest(wh, landing)
    file = path.relative_to(landing).as_posix()
    with pytest.raises(RuntimeError, match="refusing to write the audit log"), wh.session() as s:
        retract.retract_file(s, T, file, "alice", "a reason")
    for name, value in pg_server.warehouse_env(pg_dsn.split("dbname=")[1]).items():
        monkeypatch.setenv(name, value)
    args = ["--table", T, "--file", file, "--actor", "bob", "--reason", "test"]
    assert retract.main(args) == 2
    assert "nothing retracted: refusing to write the audit log" in capsys.readouterr().err
    assert wh.read(f"select count(*) from raw.{T}").item() == 2
    assert wh.read("select status from ops.ingested_files").item() == "loaded"
