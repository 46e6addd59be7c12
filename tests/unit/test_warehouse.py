"""Warehouse writes: replace/append/upsert semantics and atomicity, on a real DuckDB file, a
real PostgreSQL database and a real Spark server (marker ``spark``, ``make test-spark``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import polars as pl
import pytest

from dagster_project.warehouse import Warehouse


@pytest.fixture
def wh(every_warehouse):
    return every_warehouse


def frame(ids, values):
    return pl.DataFrame({"id": ids, "v": values})


def test_replace_makes_the_table_exactly_the_frame(wh):
    wh.write("marts.t", frame([1, 2, 3], [1.0, 2.0, 3.0]))
    wh.write("marts.t", frame([9], [9.0]), mode="replace")
    assert wh.read("select * from marts.t").to_dicts() == [{"id": 9, "v": 9.0}]


def test_append_adds_rows(wh):
    wh.write("marts.t", frame([1], [1.0]))
    wh.write("marts.t", frame([2], [2.0]), mode="append")
    assert wh.read("select id from marts.t order by id")["id"].to_list() == [1, 2]


def test_upsert_replaces_matching_keys_and_keeps_the_rest(wh):
    wh.write("marts.t", frame([1, 2], [1.0, 2.0]))
    wh.write("marts.t", frame([2, 3], [20.0, 30.0]), mode="upsert", key=["id"])
    got = wh.read("select * from marts.t order by id").to_dicts()
    assert got == [{"id": 1, "v": 1.0}, {"id": 2, "v": 20.0}, {"id": 3, "v": 30.0}]


def test_failed_session_rolls_back_every_write(wh):
    wh.write("marts.t", frame([1], [1.0]))
    with pytest.raises(RuntimeError), wh.session() as s:
        s.write("marts.t", frame([5, 6], [5.0, 6.0]), mode="replace")
        s.write("marts.other", frame([1], [1.0]))
        raise RuntimeError("boom")
    assert wh.read("select id from marts.t")["id"].to_list() == [1]
    assert not wh.table_exists("marts.other")


def test_readers_see_the_old_rows_until_the_writing_session_ends(wh):
    """The writing session sees its own writes; another session sees none of them until the
    writer's ``with`` block ends (PostgreSQL's and DuckDB's transactions, Spark's staging)."""
    wh.write("marts.t", frame([1, 2], [1.0, 2.0]))
    with wh.session() as s:
        s.write("marts.t", frame([2, 3], [20.0, 30.0]), mode="upsert", key=["id"])
        s.write("marts.t", frame([4], [4.0]), mode="append")
        s.write("marts.new", frame([1], [1.0]))
        assert s.read("select * from marts.t order by id").rows() == [
            (1, 1.0), (2, 20.0), (3, 30.0), (4, 4.0)]
        assert wh.read("select * from marts.t order by id").rows() == [(1, 1.0), (2, 2.0)]
        assert not wh.table_exists("marts.new")
    assert wh.read("select * from marts.t order by id").rows() == [
        (1, 1.0), (2, 20.0), (3, 30.0), (4, 4.0)]
    assert wh.read("select id from marts.new")["id"].to_list() == [1]


def test_executed_insert_and_delete_count_in_the_session_and_roll_back_with_it(wh):
    wh.write("ops.t", frame([1, 2, 3], [1.0, 2.0, 3.0]))
    statements = [("delete from ops.t where id >= ? and v is not null", [2]),
                  ("insert into ops.t values (?, ?)", [9, 9.0])]
    with pytest.raises(RuntimeError), wh.session() as s:
        for sql, params in statements:
            s.execute(sql, params)
        assert s.read("select id from ops.t order by id")["id"].to_list() == [1, 9]
        raise RuntimeError("boom")
    assert wh.read("select id from ops.t order by id")["id"].to_list() == [1, 2, 3]
    with wh.session() as s:
        for sql, params in statements:
            s.execute(sql, params)
    assert wh.read("select id from ops.t order by id")["id"].to_list() == [1, 9]


def test_killed_writer_leaves_the_old_table(wh, tmp_path):
    wh.write("marts.t", frame([1], [1.0]))
    script = textwrap.dedent(
        f"""
        import os, polars as pl
        from dagster_project.warehouse import Warehouse
        wh = Warehouse(**{wh.model_dump()!r})
        with wh.session() as s:
            s.write("marts.t", pl.DataFrame({{"id": list(range(200000)), "v": [0.0] * 200000}}))
            os._exit(9)  # killed before commit
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert proc.returncode == 9, proc.stderr.decode()
    assert wh.read("select id from marts.t")["id"].to_list() == [1]


def test_every_contract_dtype_and_null_round_trips(wh):
    from datetime import date, datetime

    df = pl.DataFrame(
        {
            "i": [1, None, -(2**62)],
            "f": [0.1, None, 1e300],
            "s": ["a", "", None],  # empty string and null stay apart
            "b": [True, None, False],
            "t": [datetime(2024, 1, 1, 1, 2, 3, 456), None, datetime(2000, 1, 1)],
            "d": [date(2024, 2, 29), None, date(2000, 1, 1)],
        }
    )
    wh.write("marts.types", df)
    back = wh.read("select * from marts.types order by i nulls last")
    assert back.schema == df.schema
    assert back.rows() == df.sort("i", nulls_last=True).rows()


def test_question_marks_in_string_literals_are_not_placeholders(wh):
    wh.write("marts.t", frame([1, 2], [1.0, 2.0]))
    got = wh.read("select '?%' as q, id from marts.t where id = ?", [2])
    assert got.rows() == [("?%", 2)]


def test_replace_keeps_a_view_that_selects_from_the_table(wh):
    wh.write("marts.t", frame([1, 2], [1.0, 2.0]))
    wh.execute("create view marts.v as select id from marts.t")
    wh.write("marts.t", frame([7, 8, 9], [7.0, 8.0, 9.0]))
    assert wh.read("select id from marts.v order by id")["id"].to_list() == [7, 8, 9]


def test_a_view_made_in_the_session_that_writes_its_table_reads_the_new_rows(wh):
    wh.write("marts.t", frame([1], [1.0]))
    with wh.session() as s:
        s.write("marts.t", frame([7, 8], [7.0, 8.0]))
        s.write("marts.fresh", frame([5], [5.0]))
        s.execute("create view marts.v as select t.id from marts.t t join marts.fresh f "
                  "on f.id < t.id")
        assert s.read("select id from marts.t order by id")["id"].to_list() == [7, 8]
    assert wh.read("select id from marts.v order by id")["id"].to_list() == [7, 8]
    wh.write("marts.t", frame([9], [9.0]))
    assert wh.read("select id from marts.v")["id"].to_list() == [9]


@pytest.mark.spark
def test_spark_refuses_row_level_dml_it_cannot_stage_and_says_what_to_do(spark_catalog):
    wh = Warehouse(backend="spark", spark_connect_url=spark_catalog)
    wh.write("ops.t", frame([1], [1.0]))
    merge = "merge into ops.t using ops.t s on true when matched then delete"
    for sql in ("update ops.t set v = 2", merge, "truncate table ops.t"):
        with pytest.raises(NotImplementedError, match=r"use write\(\.\.\., mode="):
            wh.execute(sql)
    assert wh.read("select * from ops.t").rows() == [(1, 1.0)]


@pytest.mark.postgres
def test_parallel_sessions_creating_the_same_schema_and_table_both_succeed(pg_dsn):
    """Dagster's multiprocess executor runs ingest steps in parallel; `create ... if not
    exists` inside two open transactions would make one of them fail."""
    import threading

    wh = Warehouse(backend="postgres", postgres_dsn=pg_dsn)
    errors, barrier = [], threading.Barrier(2)

    def step(n):
        try:
            with wh.session() as s:
                barrier.wait()
                s.create_table("ops.shared", [("k", "varchar")])
                s.write(f"ops.own_{n}", frame([n], [1.0]))
                s.execute("insert into ops.shared values (?)", [str(n)])
                barrier.wait()  # both transactions open until both have written
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=step, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(wh.read("select k from ops.shared")["k"].to_list()) == ["1", "2"]


def test_read_only_warehouse_reads_and_refuses_every_write(wh):
    wh.write("marts.t", frame([1, 2], [1.0, 2.0]))
    reader = wh.model_copy(update={"read_only": True})
    assert reader.read("select id from marts.t order by id")["id"].to_list() == [1, 2]
    with pytest.raises(Exception, match="(?i)read.only"):
        reader.write("marts.t", frame([9], [9.0]))
    with pytest.raises(Exception, match="(?i)read.only"):
        reader.execute("delete from marts.t")
    assert wh.read("select count(*) as n from marts.t")["n"].item() == 2
