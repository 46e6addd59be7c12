"""Warehouse reads for the API, off the event loop, read-only, bounded in time.

Concurrency rule on DuckDB (one writing process per file): every read opens a short
read-only connection and closes it, so the file is held for milliseconds; while a Dagster run
holds it for writing, a read retries for up to ``BUSY_WAIT_S`` and then answers 503 with
``Retry-After`` (cached answers keep being served meanwhile). A run that opens the file in the
very millisecond a read holds it fails its write: on a busy DuckDB deployment schedule
materializations when the API is quiet, or use PostgreSQL, where readers and writers never
block each other. On PostgreSQL client-scoped reads of ``reporting`` connect as the client role
(``bi_client``) with ``app.client_id`` set, so row-level security holds beneath the SQL filter;
everything else connects as the configured warehouse user in a read-only transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio
import duckdb
import polars as pl
import psycopg
from psycopg import errors as pg_errors

from dagster_project.warehouse import Warehouse

BUSY_WAIT_S = 2.0


class WarehouseBusy(Exception):
    """The DuckDB file is held by a writer (503, retry later)."""


class QueryTimeout(Exception):
    """A query ran past the timeout (504)."""


class MissingTable(Exception):
    """A table the area reads has not been materialized yet."""


class Reader:
    def __init__(self, warehouse: Warehouse, client_warehouse: Warehouse | None,
                 timeout_s: float):
        self.warehouse = warehouse
        # PostgreSQL only: the same database as the client role (row-level security applies)
        self.client_warehouse = client_warehouse
        self.timeout_s = timeout_s

    def _read_sync(self, queries: Sequence[tuple[str, Sequence]], client_id: str | None,
                   rls: bool) -> list[pl.DataFrame]:
        warehouse = self.client_warehouse if rls and self.client_warehouse else self.warehouse
        deadline = time.monotonic() + BUSY_WAIT_S
        while True:
            try:
                with warehouse.read_session(client_id=client_id, timeout_s=self.timeout_s) as s:
                    return [s.read(sql, list(params)) for sql, params in queries]
            except duckdb.IOException as e:
                if "lock" not in str(e).lower():
                    raise
                if time.monotonic() > deadline:
                    raise WarehouseBusy(str(e)) from None
                time.sleep(0.05)
            except duckdb.InterruptException:
                raise QueryTimeout(f"query ran past {self.timeout_s} s") from None
            except pg_errors.QueryCanceled:
                raise QueryTimeout(f"query ran past {self.timeout_s} s") from None
            except (duckdb.CatalogException, pg_errors.UndefinedTable) as e:
                raise MissingTable(str(e).splitlines()[0]) from None
            except psycopg.OperationalError as e:
                raise WarehouseBusy(str(e)) from None

    async def read(self, queries: Sequence[tuple[str, Sequence]], client_id: str | None = None,
                   rls: bool = False) -> list[pl.DataFrame]:
        """Run ``queries`` (SQL with ``?`` placeholders, params) in one read-only session.
        ``rls``: the queries read client-keyed reporting tables for ``client_id``."""
        return await anyio.to_thread.run_sync(self._read_sync, queries, client_id, rls)

    def read_sync(self, sql: str, params: Sequence = ()) -> pl.DataFrame:
        return self._read_sync([(sql, params)], None, False)[0]
