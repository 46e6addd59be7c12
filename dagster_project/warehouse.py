"""The ``Warehouse`` resource: read SQL into polars, write polars frames atomically.

One interface, two backends chosen by settings: an embedded DuckDB file (default) and
PostgreSQL (production). Every write runs in one transaction, so a failed or killed run never
leaves a half-written table: readers see the old table or the new one, nothing in between.

Write modes:
- ``replace``: the table becomes exactly the frame;
- ``append``: the frame's rows are added;
- ``upsert``: rows whose ``key`` matches a frame row are replaced, the others kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Literal

import dagster as dg
import duckdb
import polars as pl

WriteMode = Literal["replace", "append", "upsert"]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def qualified(table: str) -> str:
    """``schema.table`` quoted; a bare name goes to the ``main`` schema."""
    return ".".join(_quote(part) for part in table.split("."))


class WarehouseSession:
    """One open connection inside one transaction; what ``Warehouse.session()`` yields."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def execute(self, sql: str, params: Sequence | None = None) -> None:
        self._con.execute(sql, params or [])

    def read(self, sql: str, params: Sequence | None = None) -> pl.DataFrame:
        return self._con.sql(sql, params=params or None).pl()

    def scalar(self, sql: str, params: Sequence | None = None):
        rows = self._con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def table_exists(self, table: str) -> bool:
        schema, name = table.split(".")
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            )
        )

    def create_table(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        """Create ``schema.table`` (and its schema) with explicit ``(name, sql_type)`` columns,
        unless it exists already. Portable SQL: works the same on DuckDB and PostgreSQL."""
        self._con.execute(f"create schema if not exists {_quote(table.split('.')[0])}")
        cols = ", ".join(f"{_quote(name)} {sql_type}" for name, sql_type in columns)
        self._con.execute(f"create table if not exists {qualified(table)} ({cols})")

    def write(
        self,
        table: str,
        df: pl.DataFrame,
        mode: WriteMode = "replace",
        key: Sequence[str] | None = None,
    ) -> int:
        """Write ``df`` to ``schema.table``; returns the number of rows written."""
        schema = table.split(".")[0]
        self._con.execute(f"create schema if not exists {_quote(schema)}")
        self._con.register("__frame", df.to_arrow())
        try:
            target = qualified(table)
            if mode == "replace" or not self.table_exists(table):
                self._con.execute(f"create or replace table {target} as select * from __frame")
            elif mode == "append":
                self._con.execute(f"insert into {target} by name select * from __frame")
            elif mode == "upsert":
                if not key:
                    raise ValueError(f"upsert into {table} needs key columns")
                match = " and ".join(f"t.{_quote(k)} is not distinct from f.{_quote(k)}" for k in key)
                self._con.execute(
                    f"delete from {target} t where exists (select 1 from __frame f where {match})"
                )
                self._con.execute(f"insert into {target} by name select * from __frame")
            else:
                raise ValueError(f"unknown write mode {mode!r}")
        finally:
            self._con.unregister("__frame")
        return df.height


class Warehouse(dg.ConfigurableResource):
    """The analytics warehouse: DuckDB file by default, PostgreSQL in production."""

    backend: str = "duckdb"
    duckdb_path: str = "data/warehouse.duckdb"
    postgres_dsn: str | None = None

    @contextlib.contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        """A connection in one transaction: committed on success, rolled back on error."""
        if self.backend != "duckdb":
            raise NotImplementedError(f"warehouse backend {self.backend!r} is not available yet")
        con = duckdb.connect(self.duckdb_path)
        try:
            con.execute("begin transaction")
            yield WarehouseSession(con)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            con.close()

    def read(self, sql: str, params: Sequence | None = None) -> pl.DataFrame:
        with self.session() as s:
            return s.read(sql, params)

    def execute(self, sql: str, params: Sequence | None = None) -> None:
        with self.session() as s:
            s.execute(sql, params)

    def write(
        self,
        table: str,
        df: pl.DataFrame,
        mode: WriteMode = "replace",
        key: Sequence[str] | None = None,
    ) -> int:
        with self.session() as s:
            return s.write(table, df, mode, key)

    def table_exists(self, table: str) -> bool:
        with self.session() as s:
            return s.table_exists(table)
