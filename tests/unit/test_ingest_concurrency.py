"""Two ingests of the same new files at once on PostgreSQL (the sensor's run and the hourly job,
say) load each row once: the table's advisory lock makes the second wait and then find the files
recorded; the unique index on the contract key refuses a second copy of a row should two loads
ever overlap anyway. Without either, the same race loads every row twice (the issue's finding).
"""

from __future__ import annotations

import threading
import time

import polars as pl
import psycopg
import pytest

from dagster_project.ingest import load
from dagster_project.ingest.testing import landing_path, valid_rows, write_landing_file
from dagster_project.warehouse import Warehouse
from dagster_project.warehouse.postgres_backend import PostgresSession

pytestmark = pytest.mark.postgres

T = "conversions"
FILES, ROWS = 4, 500


@pytest.fixture
def landing(tmp_path):
    for day in range(FILES):
        rows = valid_rows(T, ROWS).with_columns(pl.col("conversion_id") + f"-{day}")
        write_landing_file(rows, landing_path(tmp_path, T, f"2024-01-0{day + 1}"))
    return tmp_path


def slow_loads(monkeypatch, seconds=0.5):
    """Each chunk's load takes ``seconds`` longer, so the two runs overlap for sure."""
    real = load._load_chunk

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(load, "_load_chunk", slow)


def race(dsn, landing, tables=(T, T)):
    """Start two ingests (of ``tables``) together; (warehouse, reports, errors, the most lock
    requests seen waiting at once)."""
    wh = Warehouse(backend="postgres", postgres_dsn=dsn)
    barrier, reports, errors = threading.Barrier(2), [], []

    def run(table_name):
        try:
            with wh.session() as s:
                barrier.wait()
                reports.append(load.ingest_table(s, table_name, landing))
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in tables]
    for t in threads:
        t.start()
    waiting = 0
    with psycopg.connect(dsn, autocommit=True) as watch:
        while any(t.is_alive() for t in threads):
            waiting = max(waiting, watch.execute(
                "select count(*) from pg_locks where not granted").fetchone()[0])
            time.sleep(0.02)
    for t in threads:
        t.join()
    return wh, reports, errors, waiting


def test_two_ingests_at_once_load_each_row_once(pg_dsn, landing, monkeypatch):
    slow_loads(monkeypatch)
    wh, reports, errors, waiting = race(pg_dsn, landing)
    assert errors == []
    assert waiting == 1  # the second run waited for the table's lock
    assert sorted(len(r.files) for r in reports) == [0, FILES]
    assert sum(r.rows_quarantined for r in reports) == 0  # nothing re-read as duplicate keys
    counts = wh.read(f"select count(*) as n, count(distinct conversion_id) as k from raw.{T}")
    assert counts.row(0) == (FILES * ROWS, FILES * ROWS)
    assert wh.read("select count(*) from ops.ingested_files").item() == FILES


def test_without_the_lock_the_unique_key_refuses_the_second_copy(pg_dsn, landing, monkeypatch):
    slow_loads(monkeypatch)
    names = iter(["a", "b"])
    monkeypatch.setattr(load, "table_lock", lambda t: f"own-lock-{next(names)}")
    wh, reports, errors, _ = race(pg_dsn, landing)
    assert len(reports) == 1 and len(errors) == 1
    assert isinstance(errors[0], psycopg.errors.UniqueViolation)  # rolled back, not loaded twice
    assert wh.read(f"select count(*) from raw.{T}").item() == FILES * ROWS


def test_without_the_lock_and_the_unique_key_the_race_loads_every_row_twice(
        pg_dsn, landing, monkeypatch):
    """The finding itself, reproduced: what the two protections above prevent."""
    slow_loads(monkeypatch)
    names = iter(["a", "b"])
    monkeypatch.setattr(load, "table_lock", lambda t: f"own-lock-{next(names)}")
    monkeypatch.setattr(PostgresSession, "ensure_unique_key", lambda self, table, cols: False)
    wh, reports, errors, _ = race(pg_dsn, landing)
    assert errors == [] and [len(r.files) for r in reports] == [FILES, FILES]
    counts = wh.read(f"select count(*) as n, count(distinct conversion_id) as k from raw.{T}")
    assert counts.row(0) == (2 * FILES * ROWS, FILES * ROWS)


def test_ingests_of_two_tables_run_side_by_side_without_waiting(pg_dsn, landing, tmp_path,
                                                              monkeypatch):
    """Each table has its own lock; before, every ingest altered ops.ingested_files (an
    exclusive lock to the end of its transaction), so all tables loaded one after another."""
    wh = Warehouse(backend="postgres", postgres_dsn=pg_dsn)
    for name in (T, "clients"):  # the tables exist, as after any first run: no DDL below
        with wh.session() as s:
            load.ingest_table(s, name, tmp_path / "empty")
    write_landing_file(valid_rows("clients", ROWS), landing_path(landing, "clients", "2024-01-01"))
    slow_loads(monkeypatch)
    _, reports, errors, waiting = race(pg_dsn, landing, tables=(T, "clients"))
    assert errors == [] and waiting == 0
    assert sorted(r.rows_loaded for r in reports) == [ROWS, FILES * ROWS]
