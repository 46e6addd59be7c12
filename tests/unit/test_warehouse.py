"""Warehouse writes: replace/append/upsert semantics and atomicity on the real DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import polars as pl
import pytest

from dagster_project.warehouse import Warehouse


@pytest.fixture
def wh(tmp_path):
    return Warehouse(duckdb_path=str(tmp_path / "w.duckdb"))


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


def test_killed_writer_leaves_the_old_table(wh, tmp_path):
    wh.write("marts.t", frame([1], [1.0]))
    script = textwrap.dedent(
        f"""
        import os, polars as pl
        from dagster_project.warehouse import Warehouse
        wh = Warehouse(duckdb_path={wh.duckdb_path!r})
        with wh.session() as s:
            s.write("marts.t", pl.DataFrame({{"id": list(range(200000)), "v": [0.0] * 200000}}))
            os._exit(9)  # killed before commit
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert proc.returncode == 9, proc.stderr.decode()
    assert wh.read("select id from marts.t")["id"].to_list() == [1]
