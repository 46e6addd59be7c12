"""Warehouse reads for the API, off the event loop, read-only, bounded in time.

Concurrency rule on DuckDB (one writing process per file, or readers, never both): every
read opens a short read-only connection and closes it, so the file is held for milliseconds.
Whoever opens while the other side holds it waits up to ``LOCK_WAIT_S`` (2 s,
``warehouse.duckdb_backend``): a pipeline step's write waits out a read; a read that finds a
run still writing after that gets 503 with ``Retry-After`` (cached answers are still served).
dbt's own connection does not wait: a dbt build that starts in the millisecond a read holds
the file fails, so on DuckDB keep heavy API traffic away from build times, or use PostgreSQL,
where readers and writers never block each other. On PostgreSQL client-scoped reads of ``reporting`` connect as the client role
(``bi_client``) with ``app.client_id`` set, so row-level security holds beneath the SQL filter;
everything else connects as the configured warehouse user in a read-only transaction.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import anyio
import duckdb
import polars as pl
import polars.selectors as cs
import psycopg
from psycopg import errors as pg_errors

from dagster_project.warehouse import Warehouse


class FileGate:
    """Within the service process: reads share the DuckDB file, a write (an audit entry) has
    it alone. DuckDB refuses to open a read-write connection to a file while the same process
    holds a read-only one (and the reverse). A waiting writer holds back new readers."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._cond = threading.Condition()
        self._readers = self._writers_waiting = 0
        self._writing = False

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class WarehouseBusy(Exception):
    """The DuckDB file is held by a writer (503, retry later)."""


class QueryTimeout(Exception):
    """A query ran past the timeout (504)."""


class Reader:
    def __init__(self, warehouse: Warehouse, client_warehouse: Warehouse | None,
                 timeout_s: float):
        self.warehouse = warehouse
        # PostgreSQL only: the same database as the client role (row-level security applies)
        self.client_warehouse = client_warehouse
        self.timeout_s = timeout_s
        self.gate = FileGate(enabled=warehouse.backend == "duckdb")

    def _read_sync(self, queries: Sequence[tuple[str, Sequence, Sequence[str]]],
                   client_id: str | None, rls: bool) -> list[pl.DataFrame | None]:
        warehouse = self.client_warehouse if rls and self.client_warehouse else self.warehouse
        try:
            with self.gate.reading(), warehouse.read_session(client_id=client_id,
                                                             timeout_s=self.timeout_s) as s:
                present = {t: s.table_exists(t) for _, _, tables in queries for t in tables}
                return [_plain(s.read(sql, list(params)))
                        if all(present[t] for t in tables) else None
                        for sql, params, tables in queries]
        except duckdb.IOException as e:  # still held by a writer after the open's wait
            raise WarehouseBusy(str(e)) from None
        except (duckdb.InterruptException, pg_errors.QueryCanceled):
            raise QueryTimeout(f"query ran past {self.timeout_s} s") from None
        except psycopg.OperationalError as e:
            raise WarehouseBusy(str(e)) from None

    async def read(self, queries: Sequence[tuple[str, Sequence, Sequence[str]]],
                   client_id: str | None = None, rls: bool = False) -> list[pl.DataFrame | None]:
        """Run ``queries`` (SQL with ``?`` placeholders, params, the tables it reads) in one
        read-only session; None for a query whose tables are not materialized yet.
        ``rls``: the queries read client-keyed reporting tables for ``client_id``."""
        return await anyio.to_thread.run_sync(self._read_sync, queries, client_id, rls)


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimals (PostgreSQL numeric, DuckDB decimal literals) and 128-bit integers as JSON
    numbers, not strings."""
    return frame.with_columns(cs.decimal().cast(pl.Float64), cs.by_dtype(pl.Int128).cast(pl.Int64))
