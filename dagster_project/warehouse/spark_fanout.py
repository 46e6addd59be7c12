"""Python on Spark's executors, two ways.

``executor_map``: ``map(fn, items)`` with each call in an executor's Python worker (one task
per item; items and results pickled through the driver): for CPU-bound work on inputs the
driver holds anyway (the per-series Holt-Winters fits of a forecast).

``fan_out``: a pure function of polars frames, applied to every group of rows where the rows
are, so its memory and time spread over the cluster.

``fan_out`` pairs the rows of two Spark DataFrames by a group key (``cogroup``) and runs
``fn(key, left, right)`` on each group inside an executor's Python worker
(``applyInArrow``: the rows arrive as Arrow, are handed to ``fn`` as polars frames, never
through the driver). ``fn`` returns several named frames (an analytics step that writes two
tables); Spark's grouped map returns one schema, so the outputs travel as one union frame
(``_output`` names the output, column ``c`` of output ``o`` is ``o__c``) and ``output`` selects
one back. Write the union to a table first when reading more than one output: every Spark
action on it would run ``fn`` again.

Only the dtypes below cross (the analytics outputs' own); another dtype is a ValueError naming
the output and the column.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Mapping

import polars as pl
import pyarrow as pa

OUTPUT = "_output"

# polars dtype -> (Spark's DDL name, the Arrow type Spark reads it from)
_TYPES = {pl.String: ("string", pa.string()), pl.Float64: ("double", pa.float64()),
          pl.Int64: ("bigint", pa.int64()), pl.Boolean: ("boolean", pa.bool_()),
          pl.Date: ("date", pa.date32())}

Outputs = Mapping[str, Mapping[str, pl.DataType]]  # output name -> column -> dtype


def executor_map(spark) -> Callable[[Callable, list], list]:
    """A ``map(fn, items) -> [fn(item) for item in items]`` (in order) whose calls run on the
    executors of ``spark``, one task per item. ``fn`` must be importable or picklable there."""

    def map_(fn: Callable, items: list) -> list:
        if not items:
            return []
        payload = pa.table({"i": pa.array(range(len(items)), pa.int64()),
                            "item": pa.array([pickle.dumps(x) for x in items], pa.binary())})

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for b in batches:
                done = [pickle.dumps(fn(pickle.loads(x))) for x in b.column("item").to_pylist()]
                yield pa.record_batch([b.column("i"), pa.array(done, pa.binary())],
                                      names=["i", "result"])

        rows = (spark.createDataFrame(payload).repartition(len(items))
                .mapInArrow(run, "i bigint, result binary").toArrow().sort_by("i"))
        return [pickle.loads(r) for r in rows.column("result").to_pylist()]

    return map_


def _check(outputs: Outputs) -> None:
    for name, schema in outputs.items():
        for col, dtype in schema.items():
            if dtype not in _TYPES:
                raise ValueError(f"output {name!r}, column {col!r}: dtype {dtype} does not cross "
                                 f"to Spark here (supported: {sorted(map(str, _TYPES))})")


def _union_fields(outputs: Outputs) -> list[tuple[str, pl.DataType]]:
    return [(OUTPUT, pl.String)] + [(f"{name}__{col}", dtype) for name, schema in outputs.items()
                                    for col, dtype in schema.items()]


def union_ddl(outputs: Outputs) -> str:
    """The Spark DDL of the union frame of ``outputs``."""
    _check(outputs)
    return ", ".join(f"`{col}` {_TYPES[dtype][0]}" for col, dtype in _union_fields(outputs))


def to_union(results: Mapping[str, pl.DataFrame], outputs: Outputs) -> pa.Table:
    """``fn``'s frames as one Arrow table of the union schema (what the executor returns); a
    ValueError when a frame's columns or dtypes are not its output's."""
    fields = _union_fields(outputs)
    parts = []
    for name, schema in outputs.items():
        frame = results[name]
        if dict(frame.schema) != dict(schema):
            raise ValueError(f"output {name!r}: the function returned {dict(frame.schema)}, "
                             f"declared {dict(schema)}")
        parts.append(frame.select(pl.lit(name).alias(OUTPUT),
                                  *[pl.col(c).alias(f"{name}__{c}") for c in schema]))
    union = pl.concat(parts, how="diagonal") if parts else pl.DataFrame()
    union = union.select([pl.col(c) if c in union.columns else pl.lit(None, d).alias(c)
                          for c, d in fields])
    return union.to_arrow().cast(pa.schema([(c, _TYPES[d][1]) for c, d in fields]))


def fan_out(left, right, key: str,
            fn: Callable[[object, pl.DataFrame, pl.DataFrame], Mapping[str, pl.DataFrame]],
            outputs: Outputs):
    """The union frame of ``fn(key value, left rows, right rows)`` over every ``key`` value
    present on either side (a side without rows for a key gives ``fn`` an empty frame; the
    frames come without the ``key`` column). ``fn`` and what it closes over are pickled to the
    executors."""

    def per_group(keys: tuple, left_rows: pa.Table, right_rows: pa.Table) -> pa.Table:
        return to_union(fn(keys[0].as_py(), pl.from_arrow(left_rows).drop(key),
                           pl.from_arrow(right_rows).drop(key)), outputs)

    return left.groupBy(key).cogroup(right.groupBy(key)).applyInArrow(per_group,
                                                                       union_ddl(outputs))


def output(union, name: str, outputs: Outputs):
    """Output ``name`` of a union frame, with its own column names."""
    from pyspark.sql import functions as F

    return union.where(F.col(OUTPUT) == name).select(
        [F.col(f"`{name}__{c}`").alias(c) for c in outputs[name]])
