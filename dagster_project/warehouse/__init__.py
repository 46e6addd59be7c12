"""The ``Warehouse`` resource: read SQL into polars, write polars frames atomically.

One interface (:class:`WarehouseSession`), three backends chosen by settings: an embedded DuckDB
file (default, :mod:`.duckdb_backend`), PostgreSQL (production, :mod:`.postgres_backend`) and
Spark over Spark Connect (:mod:`.spark_backend`). On DuckDB and PostgreSQL every write runs in
the session's one transaction; Spark has none, so a session stages its writes and swaps them in
per table when it ends (see that module for what is and is not atomic there). Either way a
failed or killed run never leaves a half-written table: readers see the old table or the new
one, nothing in between.

Write modes:
- ``replace``: the table becomes exactly the frame;
- ``append``: the frame's rows are added;
- ``upsert``: rows whose ``key`` matches a frame row are replaced, the others kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager as ContextManager

import dagster as dg
import polars as pl

from dagster_project.warehouse.base import WarehouseSession, WriteMode, qualified, quote
from dagster_project.warehouse.duckdb_backend import DuckDBSession
from dagster_project.warehouse.postgres_backend import PostgresSession
from dagster_project.warehouse.spark_backend import SparkWarehouseSession

__all__ = ["RAW_LOADS", "Warehouse", "WarehouseSession", "WriteMode", "qualified", "quote"]

RAW_LOADS = "raw_loads"  # the lock ingest takes shared and a dbt build exclusively


def _postgres(w: Warehouse) -> ContextManager[WarehouseSession]:
    if not w.postgres_dsn:
        raise ValueError("the postgres warehouse needs postgres_dsn (settings: BI_PG_*)")
    return PostgresSession.open(w.postgres_dsn, w.read_only)


def _spark(w: Warehouse) -> ContextManager[WarehouseSession]:
    if not w.spark_connect_url:
        raise ValueError("the spark warehouse needs spark_connect_url (settings: "
                         "BI_SPARK_CONNECT_URL)")
    return SparkWarehouseSession.open(w.spark_connect_url, w.read_only)


_BACKENDS: dict[str, Callable[[Warehouse], ContextManager[WarehouseSession]]] = {
    "duckdb": lambda w: DuckDBSession.open(w.duckdb_path, w.duckdb_memory_limit, w.read_only),
    "postgres": _postgres,
    "spark": _spark,
}


def _unknown(backend: str) -> ValueError:
    return ValueError(f"unknown warehouse backend {backend!r} ({' | '.join(_BACKENDS)})")


class Warehouse(dg.ConfigurableResource):
    """The analytics warehouse: DuckDB file by default, PostgreSQL in production, or Spark."""

    backend: str = "duckdb"
    duckdb_path: str = "data/warehouse.duckdb"
    duckdb_memory_limit: str | None = None  # e.g. "1.5GB"; None: DuckDB's default (80% of RAM)
    postgres_dsn: str | None = None
    spark_connect_url: str | None = None  # sc://host:port of a Spark Connect server
    # sessions refuse writes (the notebooks' warehouse): DuckDB opens the file read-only, so
    # other processes may read it too; PostgreSQL runs every transaction READ ONLY
    read_only: bool = False

    @classmethod
    def from_settings(cls, settings, read_only: bool = False) -> Warehouse:
        """The warehouse ``settings`` (``dagster_project.settings.Settings``) describe."""
        return cls(backend=settings.warehouse_backend, duckdb_path=str(settings.duckdb_path),
                   duckdb_memory_limit=settings.duckdb_memory_limit,
                   postgres_dsn=settings.postgres_dsn,
                   spark_connect_url=settings.spark_connect_url, read_only=read_only)

    @contextlib.contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        """A connection in one transaction: committed on success, rolled back on error."""
        if self.backend not in _BACKENDS:
            raise _unknown(self.backend)
        with _BACKENDS[self.backend](self) as session:
            yield session

    @contextlib.contextmanager
    def build_lock(self) -> Iterator[None]:
        """Hold ``raw_loads`` exclusively while a dbt build runs in another process (see
        :meth:`WarehouseSession.lock`): no load commits into raw while the build reads it. On
        DuckDB nothing is held (a connection would lock dbt out of the file), nor on Spark (no
        lock service: one writer per table, see ``SparkWarehouseSession.lock``)."""
        if self.backend in ("duckdb", "spark"):
            yield
            return
        with self.session() as s:
            s.lock(RAW_LOADS)
            yield

    def read(self, sql: str, params: Sequence | None = None) -> pl.DataFrame:
        with self.session() as s:
            return s.read(sql, params)

    def scalar(self, sql: str, params: Sequence | None = None):
        with self.session() as s:
            return s.scalar(sql, params)

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

    @contextlib.contextmanager
    def read_session(self, client_id: str | None = None,
                     timeout_s: float | None = None) -> Iterator[WarehouseSession]:
        """A read-only session, for readers outside the pipeline (the serving API).

        DuckDB: a read-only connection (no write lock; it fails while a run holds the file for
        writing), queries interrupted after ``timeout_s``; ``client_id`` is not used (no row
        security: callers filter). PostgreSQL: a read-only transaction with ``statement_timeout``
        and ``app.client_id`` set, so row-level security holds underneath the caller's filter.
        Spark: refused. The serving API answers requests in milliseconds from the reporting
        tables; a Spark query costs a job; serve from PostgreSQL (or DuckDB) fed by the marts.
        """
        if self.backend == "duckdb":
            opened = DuckDBSession.open(self.duckdb_path, self.duckdb_memory_limit,
                                        read_only=True, timeout_s=timeout_s)
        elif self.backend == "postgres":
            if not self.postgres_dsn:
                raise ValueError("the postgres warehouse needs postgres_dsn (settings: BI_PG_*)")
            opened = PostgresSession.open(self.postgres_dsn, read_only=True,
                                          timeout_s=timeout_s, client_id=client_id)
        elif self.backend == "spark":
            raise ValueError("the serving API does not read from Spark (no row-level security, "
                             "a job per query): serve from a duckdb or postgres warehouse")
        else:
            raise _unknown(self.backend)
        with opened as session:
            yield session

    def table_exists(self, table: str) -> bool:
        with self.session() as s:
            return s.table_exists(table)
