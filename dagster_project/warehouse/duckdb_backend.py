"""The embedded backend: one DuckDB file; the frame is registered as an Arrow view and written
with ``create or replace table ... as`` / ``insert ... by name`` inside the transaction."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import duckdb
import polars as pl

from dagster_project.warehouse.base import (
    WarehouseSession,
    WriteMode,
    check_write_args,
    qualified,
    quote,
)

LOCK_WAIT_S = 2.0  # how long opening waits for another process to release the file


def _connect(path: str, read_only: bool, config: dict) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting up to LOCK_WAIT_S while another process holds it (DuckDB admits
    one writing process, or several readers, and does not queue): the serving API's reads and
    the token CLI hold it for milliseconds; a run that holds it longer still fails this open."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class DuckDBSession(WarehouseSession):
    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: str, memory_limit: str | None = None, read_only: bool = False,
             timeout_s: float | None = None) -> Iterator[DuckDBSession]:
        """``read_only``: a connection that takes no write lock (it still fails while another
        process holds the file for writing). ``timeout_s``: queries still running then are
        interrupted (``duckdb.InterruptException``)."""
        config = {"memory_limit": memory_limit} if memory_limit else {}
        con = _connect(path, read_only, config)
        timer = threading.Timer(timeout_s, con.interrupt) if timeout_s else None
        try:
            if timer:
                timer.start()
            con.execute("begin transaction")
            yield cls(con)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            if timer:
                timer.cancel()
            con.close()

    def execute(self, sql: str, params: Sequence | None = None) -> None:
        self._con.execute(sql, params or [])

    def read(self, sql: str, params: Sequence | None = None) -> pl.DataFrame:
        return self._con.sql(sql, params=params or None).pl()

    def scalar(self, sql: str, params: Sequence | None = None):
        rows = self._con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def lock(self, name: str, shared: bool = False) -> None:
        """Nothing to do: DuckDB admits one writing process, and the embedded mode runs one
        step at a time."""

    def ensure_unique_key(self, table: str, columns: Sequence[str]) -> bool:
        """No index (see :meth:`WarehouseSession.ensure_unique_key`): ingest checks keys
        against raw inside its transaction, and no other writer can open the file meanwhile."""
        return False

    def clock(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def replace_from(self, table: str, source: str) -> None:
        self._con.execute(f"create schema if not exists {quote(table.split('.')[0])}")
        self._con.execute(f"create or replace table {qualified(table)} as "
                          f"select * from {qualified(source)}")

    @contextlib.contextmanager
    def memory_limit(self, limit: str | None) -> Iterator[None]:
        """DuckDB's ``memory_limit`` lowered to ``limit`` within the block, then restored (it is
        the database's, shared by this process's connections to the file). It bounds the buffer
        pool, and with it the table blocks a long session keeps cached: without it they stay
        until the warehouse's limit (1.5 GB in the pipeline), so a session that reads a table
        a range at a time grows with the table; operators past it spill to the temp folder."""
        if limit is None:
            yield
            return
        before = self.scalar("select current_setting('memory_limit')")
        self._con.execute("set memory_limit = ?", [limit])
        try:
            yield
        finally:
            self._con.execute("set memory_limit = ?", [before])

    def temp_table(self, name: str, df: pl.DataFrame) -> str:
        self._con.register("__frame", df.to_arrow())
        try:
            self._con.execute(
                f"create or replace temp table {quote(name)} as select * from __frame"
            )
        finally:
            self._con.unregister("__frame")
        return quote(name)

    def write(
        self,
        table: str,
        df: pl.DataFrame,
        mode: WriteMode = "replace",
        key: Sequence[str] | None = None,
    ) -> int:
        check_write_args(table, mode, key)
        self._con.execute(f"create schema if not exists {quote(table.split('.')[0])}")
        self._con.register("__frame", df.to_arrow())
        try:
            target = qualified(table)
            if mode == "replace" or not self.table_exists(table):
                self._con.execute(f"create or replace table {target} as select * from __frame")
            elif mode == "append":
                self._con.execute(f"insert into {target} by name select * from __frame")
            else:
                match = " and ".join(f"t.{quote(k)} is not distinct from f.{quote(k)}" for k in key)
                self._con.execute(
                    f"delete from {target} t where exists (select 1 from __frame f where {match})"
                )
                self._con.execute(f"insert into {target} by name select * from __frame")
        finally:
            self._con.unregister("__frame")
        return df.height
