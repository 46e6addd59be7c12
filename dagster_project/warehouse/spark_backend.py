"""The Spark backend: a Spark Connect session (gRPC, Arrow batches) over Parquet tables in the
server's catalog.

Spark has no multi-statement transactions, so a session stages instead:

- Every write of the session goes to a staging table of its own beside the target
  (``schema._bi_stage_<session>_<n>_<table>``): ``replace`` writes the frame there, ``append``
  and ``upsert`` first copy the target's rows into it (``append`` then adds to the copy in
  place; ``upsert`` writes the copy minus the frame's keys, plus the frame). ``INSERT`` and
  ``DELETE`` passed to :meth:`execute` do the same (a ``DELETE`` keeps the rows its condition
  does not hold for; Parquet tables have no row-level DML of their own). Statements of the
  session that name a staged table read the staging table instead, so the session sees its own
  writes; every other session sees the old tables.
- When the ``with`` block ends cleanly, each target is swapped for its staging table by two
  catalog renames (target to ``_bi_old_...``, staging table to target, then the old one
  dropped). All of a session's swaps are one SQL script, one request: the client sends nothing
  between the renames (whether the server finishes a script whose client died meanwhile is not
  tested here). On error before the swap, the staging tables are dropped and no target has
  changed.

What holds: per table, a reader sees the old table or the new one, never a half-written one; a
failed or killed session (before its swap) leaves every old table. What does not: the swaps of
several tables are not atomic together (a reader between two of them sees one table new and
another old, and a server that dies mid-script leaves some swapped), and between the two renames
of one table (two metastore calls, not timed here) the target is absent: a reader then fails with
TABLE_OR_VIEW_NOT_FOUND rather than reading wrong rows. Views over a table survive its swap: a
Spark view is resolved by name each time it is read. A session killed before its swap leaves
its staging tables behind, named ``_bi_stage_<session>_*``: no other session reads them, and
they are dropped by name (``SHOW TABLES IN schema LIKE '_bi_stage_*'``) when no session writes.
DDL passed to :meth:`execute` (``CREATE``, ``ALTER`` of an unstaged table, ``DROP VIEW``) takes
effect at once, as :meth:`create_table` does on PostgreSQL. Two sessions writing one table: the
later swap wins (see :meth:`SparkWarehouseSession.lock`).
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl
import polars.selectors as cs

from dagster_project.warehouse import spark_statements as statements
from dagster_project.warehouse.base import (
    WarehouseSession,
    WriteMode,
    check_write_args,
    qualified,
    quote,
)

if TYPE_CHECKING:  # pyspark is the optional `spark` extra: imported when a session opens
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession as Spark

STAGE_PREFIX = "_bi_stage_"
OLD_PREFIX = "_bi_old_"
# set on every session: the portable SQL's double-quoted identifiers, and naive UTC timestamps
# (TIMESTAMP_NTZ) as on DuckDB and PostgreSQL, whatever the server's defaults are
SESSION_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.session.timeZone": "UTC",
}
READ_STATEMENTS = {"select", "with", "show", "describe", "desc", "explain", "values", "table"}


class ReadOnlySession(PermissionError):
    """A write asked of a read-only Spark session."""


def to_spark(spark: Spark, df: pl.DataFrame) -> SparkFrame:
    """``df`` as a Spark frame, through Arrow: categoricals and all-null columns as strings
    (Parquet stores no void type), datetimes in microseconds (Spark's unit), naive datetimes
    as TIMESTAMP_NTZ."""
    from pyspark.sql.pandas.types import from_arrow_schema

    df = df.with_columns(
        (cs.categorical() | cs.enum() | cs.by_dtype(pl.Null)).cast(pl.String),
        cs.datetime().dt.cast_time_unit("us"),
    )
    table = df.to_arrow(compat_level=pl.CompatLevel.oldest())  # large_string, no string views
    return spark.createDataFrame(table, schema=from_arrow_schema(table.schema,
                                                                 prefer_timestamp_ntz=True))


def from_spark(frame: SparkFrame) -> pl.DataFrame:
    """A Spark frame's rows as polars, through Arrow; zoned timestamps as naive UTC."""
    df = pl.from_arrow(frame.toArrow())
    zoned = [c for c, t in df.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    return df.with_columns(pl.col(zoned).dt.convert_time_zone("UTC").dt.replace_time_zone(None))


class SparkWarehouseSession(WarehouseSession):
    dialect = "spark"

    def __init__(self, spark: Spark, read_only: bool = False):
        self._spark = spark
        self._read_only = read_only
        self._id = uuid.uuid4().hex[:12]
        self._versions = itertools.count()
        self._staged: dict[str, str | None] = {}  # target -> its staging table; None: dropped
        self._schemas: set[str] = set()
        self._after_swap: list[str] = []  # views over staged tables, created after the swaps

    @classmethod
    @contextlib.contextmanager
    def open(cls, url: str, read_only: bool = False) -> Iterator[SparkWarehouseSession]:
        """A new Spark Connect session on ``url`` (``sc://host:port``): its temporary views and
        settings are its own. ``read_only``: every write is refused."""
        from pyspark.sql import SparkSession as Builder

        spark = Builder.builder.remote(url).create()
        try:
            for key, value in SESSION_CONF.items():
                spark.conf.set(key, value)
            session = cls(spark, read_only)
            try:
                yield session
                session._publish()
            except BaseException:
                session._discard()  # the staging tables not swapped in yet
                raise
        finally:
            spark.stop()

    # --- staging -----------------------------------------------------------------------------

    def _stages(self) -> dict[str, str]:
        return {table: stage for table, stage in self._staged.items() if stage}

    def _sql(self, sql: str, params: Sequence | None = None) -> SparkFrame:
        return self._spark.sql(statements.point_at(sql, self._stages()),
                               args=list(params or []) or None)

    def _names_staged(self, sql: str) -> bool:
        return statements.point_at(sql, self._stages()) != sql

    def _refuse_writes(self, what: str) -> None:
        if self._read_only:
            raise ReadOnlySession(f"read-only warehouse session (Warehouse(read_only=True)): "
                                  f"refused {what}")

    def _current(self, table: str) -> str | None:
        """Where ``table``'s rows are for this session: its staging table, or the table itself,
        or None when there is none."""
        if table in self._staged:
            return self._staged[table]
        return table if self._spark.catalog.tableExists(table) else None

    def _restage(self, table: str, frame: SparkFrame) -> None:
        """``frame`` written as ``table``'s new staging table (the previous one dropped)."""
        schema, name = table.split(".")
        self._ensure_schema(schema)
        stage = f"{schema}.{STAGE_PREFIX}{self._id}_{next(self._versions)}_{name}"
        frame.write.format("parquet").saveAsTable(stage)
        self._drop_stage(table)
        self._staged[table] = stage

    def _drop_stage(self, table: str) -> None:
        if self._staged.get(table):
            self._spark.sql(f"drop table if exists {qualified(self._staged[table])}")

    def _owned_stage(self, table: str) -> str:
        """``table``'s staging table, made as a copy of the table if this session has none."""
        if not self._staged.get(table):
            current = self._current(table)
            if current is None:
                raise ValueError(f"table {table} does not exist")
            self._restage(table, self._spark.table(current))
        return self._staged[table]

    def _publish(self) -> None:
        """Swap every staged target in, in one SQL script (see the module's docs)."""
        script = []
        for table, stage in self._staged.items():
            schema, name = table.split(".")
            if stage is None:
                script.append(f"drop table if exists {qualified(table)}")
                continue
            if self._spark.catalog.tableExists(table):
                old = qualified(f"{schema}.{OLD_PREFIX}{self._id}_{name}")
                script += [f"alter table {qualified(table)} rename to {old}",
                           f"alter table {qualified(stage)} rename to {qualified(table)}",
                           f"drop table {old}"]
            else:
                script.append(f"alter table {qualified(stage)} rename to {qualified(table)}")
        script += self._after_swap
        if script:
            self._spark.sql("begin " + "; ".join(script) + "; end")
        self._staged.clear()

    def _discard(self) -> None:
        for table in self._staged:
            self._drop_stage(table)
        self._staged.clear()

    def _ensure_schema(self, schema: str) -> None:
        if schema not in self._schemas:
            self._spark.sql(f"create schema if not exists {quote(schema)}")
            self._schemas.add(schema)

    # --- queries -----------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence | None = None) -> None:
        """Run one statement. ``INSERT`` and ``DELETE`` go to the target's staging table (see
        the module's docs); ``DROP TABLE`` of a staged table drops it at the swap; other
        statements run at once, but a ``CREATE VIEW`` over a table staged in this session runs
        in the swap's script, after the swaps (a view over a staging table would break at its
        swap). ``UPDATE``/``MERGE``/``TRUNCATE`` are refused: write a frame."""
        keyword = statements.first_keyword(sql)
        if keyword not in READ_STATEMENTS:
            self._refuse_writes(keyword.upper() or sql)
        if keyword in ("update", "merge", "truncate"):
            raise NotImplementedError(
                f"the Spark backend has no {keyword.upper()} (Parquet tables have no row-level "
                "DML): use write(..., mode='replace' | 'upsert')")
        if (delete := statements.parse_delete(sql)) is not None:
            self._delete(delete, params)
            return
        if statements.creates_view(sql) and self._names_staged(sql):
            if params:
                raise ValueError("a view over a table staged in this session takes no parameters")
            self._after_swap.append(sql)  # over the swapped-in tables, not their stages
            return
        if (target := statements.insert_target(sql)) is not None:
            self._owned_stage(target)
        dropped = statements.dropped_table(sql)
        if dropped is not None and dropped in self._staged:
            self._drop_stage(dropped)
            self._staged[dropped] = None  # dropped at the swap
            return
        self._sql(sql, params)

    def _delete(self, delete: statements.Delete, params: Sequence | None) -> None:
        current = self._current(delete.table)
        if current is None:
            raise ValueError(f"DELETE FROM {delete.table}: the table does not exist")
        alias = f" {delete.alias}" if delete.alias else ""
        keep = f"not coalesce(({delete.condition}), false)" if delete.condition else "false"
        kept = self._sql(f"select * from {qualified(current)}{alias} where {keep}", params)
        self._restage(delete.table, kept)

    def read(self, sql: str, params: Sequence | None = None) -> pl.DataFrame:
        return from_spark(self._sql(sql, params))

    def scalar(self, sql: str, params: Sequence | None = None):
        first = self._sql(sql, params).limit(1).toArrow()
        return first.column(0)[0].as_py() if first.num_rows else None

    def table_exists(self, table: str) -> bool:
        return self._current(table) is not None

    def create_table(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        """As on the other backends, in Spark's type names; created at once (DDL is not staged),
        as PostgreSQL commits it outside the session's transaction."""
        self._refuse_writes(f"create table {table}")
        if self.table_exists(table):
            return
        self._ensure_schema(table.split(".")[0])
        cols = ", ".join(f"{quote(n)} {statements.spark_type(t)}" for n, t in columns)
        self._spark.sql(f"create table if not exists {qualified(table)} ({cols}) using parquet")

    # --- writes ------------------------------------------------------------------------------

    def write(
        self,
        table: str,
        df: pl.DataFrame,
        mode: WriteMode = "replace",
        key: Sequence[str] | None = None,
    ) -> int:
        check_write_args(table, mode, key)
        self._refuse_writes(f"write to {table}")
        frame = to_spark(self._spark, df)
        current = self._current(table)
        if mode == "replace" or current is None:
            self._restage(table, frame)
        elif mode == "append":
            frame.write.format("parquet").mode("append").saveAsTable(self._owned_stage(table))
        else:
            rows = self._spark.table(current)
            keys = frame.select(*key).distinct()
            match = [rows[k].eqNullSafe(keys[k]) for k in key]
            self._restage(table, rows.join(keys, on=match, how="left_anti").unionByName(frame))
        return df.height

    def replace_from(self, table: str, source: str) -> None:
        self._refuse_writes(f"replace of {table}")
        current = self._current(source)
        if current is None:
            raise ValueError(f"replace_from: {source} does not exist")
        self._restage(table, self._spark.table(current))

    def temp_table(self, name: str, df: pl.DataFrame) -> str:
        """A temporary view of the frame: the Connect session is this session's alone."""
        to_spark(self._spark, df).createOrReplaceTempView(name)
        return quote(name)

    def lock(self, name: str, shared: bool = False) -> None:
        """Nothing is held: Spark has no lock service, and a lock table in Parquet could not be
        taken atomically. The Spark mode assumes one writer per table at a time (Dagster runs
        each asset in one step; one ``nightly_refresh`` at a time): two sessions writing the
        same table lose the earlier one's rows at the later swap. Sessions writing different
        tables do not interfere (their staging tables are their own)."""

    def ensure_unique_key(self, table: str, columns: Sequence[str]) -> bool:
        """False: Spark's Parquet tables have no unique constraint or index (ingest checks the
        keys against raw itself)."""
        return False

    def clock(self) -> datetime:
        """The server's clock, naive UTC (the session's time zone is UTC)."""
        return self.scalar("select cast(current_timestamp() as timestamp_ntz)")

