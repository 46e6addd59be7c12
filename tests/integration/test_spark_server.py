"""The local Spark server: one catalog behind both of its endpoints, kept across restarts."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.spark


def _thrift_rows(server, sql: str) -> list[tuple]:
    from pyhive import hive

    with hive.connect(host="127.0.0.1", port=server.thrift_port, username="bi") as con:
        cur = con.cursor()
        cur.execute(sql)
        return cur.fetchall()


def test_a_table_written_over_connect_is_read_over_thrift_and_survives_a_restart(tmp_path):
    import polars as pl
    from pyspark.sql import SparkSession

    from dagster_project.devtools import sparkserver

    folder = tmp_path / "server"
    server = sparkserver.start(folder)
    try:
        # its own session: getOrCreate would return a live one to another server (spark_session)
        spark = SparkSession.builder.remote(server.connect_url).create()
        frame = pl.DataFrame({"id": [1, 2, 3], "name": ["a", None, "c"], "x": [0.5, None, 2.0]})
        spark.sql("create database if not exists smoke")
        spark.createDataFrame(frame.to_arrow()).write.mode("overwrite").saveAsTable("smoke.t")
        assert _thrift_rows(server, "select id, name, x from smoke.t order by id") == [
            (1, "a", 0.5), (2, None, None), (3, "c", 2.0)]
        spark.stop()
    finally:
        sparkserver.stop(folder)
    assert not sparkserver.is_running(folder)
    assert list((server.warehouse_dir / "smoke.db" / "t").glob("*.parquet"))

    again = sparkserver.start(folder)
    try:
        assert _thrift_rows(again, "select count(*), sum(id) from smoke.t") == [(3, 6)]
    finally:
        sparkserver.stop(folder)
