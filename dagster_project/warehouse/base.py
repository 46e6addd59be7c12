"""The interface both warehouse backends implement: one connection inside one transaction."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import ClassVar, Literal

import polars as pl

WriteMode = Literal["replace", "append", "upsert"]
WRITE_MODES = ("replace", "append", "upsert")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def qualified(table: str) -> str:
    """``schema.table`` quoted; a bare name is left to the search path."""
    return ".".join(quote(part) for part in table.split("."))


def check_write_args(table: str, mode: str, key: Sequence[str] | None) -> None:
    if mode not in WRITE_MODES:
        raise ValueError(f"unknown write mode {mode!r}")
    if mode == "upsert" and not key:
        raise ValueError(f"upsert into {table} needs key columns")


class WarehouseSession(ABC):
    """What ``Warehouse.session()`` yields: one open connection inside one transaction.

    SQL passed in is portable SQL with ``?`` placeholders (DuckDB's style); the PostgreSQL
    backend translates them. Committed when the ``with`` block ends, rolled back on error.
    """

    # "duckdb" | "postgres" | "spark": for the few callers whose SQL cannot be portable (the
    # audit log)
    dialect: ClassVar[str]

    @abstractmethod
    def execute(self, sql: str, params: Sequence | None = None) -> None: ...

    @abstractmethod
    def read(self, sql: str, params: Sequence | None = None) -> pl.DataFrame:
        """The query's result as a polars frame (SQL types mapped to polars dtypes)."""

    @abstractmethod
    def scalar(self, sql: str, params: Sequence | None = None):
        """The first column of the first row, or None when there is no row."""

    @abstractmethod
    def write(
        self,
        table: str,
        df: pl.DataFrame,
        mode: WriteMode = "replace",
        key: Sequence[str] | None = None,
    ) -> int:
        """Write ``df`` to ``schema.table`` (created from the frame's dtypes if missing).

        ``replace``: the table becomes exactly the frame; ``append``: rows added by column name;
        ``upsert``: rows whose ``key`` matches a frame row are replaced, the others kept.
        Returns the number of rows written.
        """

    @abstractmethod
    def replace_from(self, table: str, source: str) -> None:
        """``schema.table`` becomes exactly the rows of the table ``source`` (created if
        missing), in the session's transaction: readers see the old rows until commit. The
        columns and types follow ``source``; PostgreSQL keeps the table (its views, grants and
        policies) when they are the same, as ``write(..., "replace")`` does."""

    @contextlib.contextmanager
    def memory_limit(self, limit: str | None) -> Iterator[None]:
        """Within the block, hold at most ``limit`` (e.g. "128MB") of the warehouse's memory in
        this process; None: no change. Only the embedded DuckDB has any (see its backend);
        PostgreSQL's memory is the server's, and Spark's the executors' (fixed when their JVMs
        start; this process holds only the Arrow results it reads), so nothing changes."""
        yield

    @abstractmethod
    def temp_table(self, name: str, df: pl.DataFrame) -> str:
        """``df`` as a temporary table visible to this session only (replaced if it exists);
        returns the name to use in SQL. Gone when the session ends."""

    @abstractmethod
    def lock(self, name: str, shared: bool = False) -> None:
        """Hold the named lock until this session's transaction ends (waiting for it).

        Writers that must not interleave take the same name: ingest takes ``raw_loads`` shared
        (loads of different tables run side by side), a dbt build takes it exclusively, so a
        build never reads a raw table while a load into it is still uncommitted. PostgreSQL:
        an advisory transaction lock; DuckDB: nothing to do (one writing process at a time).
        """

    @abstractmethod
    def ensure_unique_key(self, table: str, columns: Sequence[str]) -> bool:
        """Have the warehouse refuse a second row with the same ``columns`` in ``table`` (a
        unique index, created once); True when it does. PostgreSQL: yes, unless rows already
        repeat a key (then a warning, and False). DuckDB: no index, False: one process writes
        the file at a time, and an index makes appends several times slower (README)."""

    @abstractmethod
    def clock(self) -> datetime:
        """The warehouse's current time (naive UTC): ingest stamps ``_loaded_at`` with it, so
        every writer uses one clock whatever host it runs on."""

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
        unless it exists already. Portable SQL types only (varchar, bigint, double precision,
        boolean, timestamp, date)."""
        self.execute(f"create schema if not exists {quote(table.split('.')[0])}")
        cols = ", ".join(f"{quote(name)} {sql_type}" for name, sql_type in columns)
        self.execute(f"create table if not exists {qualified(table)} ({cols})")
