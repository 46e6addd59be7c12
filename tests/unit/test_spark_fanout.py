"""The fan-out's union frame (what an executor returns), without Spark: each output's columns
under its prefix, nulls elsewhere, Arrow types Spark reads; wrong frames are refused."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest

from dagster_project.warehouse.spark_fanout import OUTPUT, to_union, union_ddl

OUTPUTS = {"a": {"k": pl.String, "x": pl.Float64}, "b": {"k": pl.String, "d": pl.Date,
                                                       "n": pl.Int64, "ok": pl.Boolean}}


def test_the_union_holds_each_output_under_its_prefix_and_nulls_elsewhere():
    a = pl.DataFrame({"k": ["p", "q"], "x": [1.5, None]})
    b = pl.DataFrame({"k": ["r"], "d": [dt.date(2026, 1, 2)], "n": [3], "ok": [True]})
    union = to_union({"a": a, "b": b}, OUTPUTS)
    assert union.schema == pa.schema([(OUTPUT, pa.string()), ("a__k", pa.string()),
                                      ("a__x", pa.float64()), ("b__k", pa.string()),
                                      ("b__d", pa.date32()), ("b__n", pa.int64()),
                                      ("b__ok", pa.bool_())])
    rows = pl.from_arrow(union)
    assert rows[OUTPUT].to_list() == ["a", "a", "b"]
    assert rows["a__x"].to_list() == [1.5, None, None]
    assert rows["b__n"].to_list() == [None, None, 3]
    assert union_ddl(OUTPUTS) == ("`_output` string, `a__k` string, `a__x` double, `b__k` string, "
                                  "`b__d` date, `b__n` bigint, `b__ok` boolean")


def test_an_empty_output_still_gives_every_column():
    union = to_union({"a": pl.DataFrame(schema=OUTPUTS["a"]),
                      "b": pl.DataFrame(schema=OUTPUTS["b"])}, OUTPUTS)
    assert union.num_rows == 0 and len(union.schema) == 7


def test_a_frame_that_is_not_its_declared_output_is_refused():
    with pytest.raises(ValueError, match="output 'a': the function returned"):
        to_union({"a": pl.DataFrame({"k": ["p"], "x": [1]}),
                  "b": pl.DataFrame(schema=OUTPUTS["b"])}, OUTPUTS)


def test_a_dtype_spark_is_not_given_here_is_named():
    with pytest.raises(ValueError, match="output 't', column 'at': dtype Datetime"):
        union_ddl({"t": {"at": pl.Datetime("us")}})
