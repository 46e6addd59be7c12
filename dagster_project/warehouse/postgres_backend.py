"""The production backend: PostgreSQL through psycopg 3, bulk data moved with ``COPY``.

- Reads: ``COPY (query) TO STDOUT (FORMAT csv)`` parsed by polars; result column types come
  from describing the statement first (no rows fetched), so dtypes do not depend on the data.
- Writes: CSV rendered by polars in chunks of ``COPY_CHUNK_ROWS`` and streamed into
  ``COPY ... FROM STDIN`` (never row-by-row INSERT).
- ``replace`` of an existing table with the same columns: the frame is copied into a
  temporary staging table, then ``TRUNCATE`` + ``INSERT ... SELECT`` from it, in the session's
  transaction. Unlike a rename swap this keeps the table's identity, so views that select from
  it (dbt reporting views), its grants and its row-level-security policies stay attached; and
  the exclusive lock TRUNCATE takes is held only for the insert, after the frame has parsed.
  Readers see the old rows until commit, then the new ones. When the columns differ the table
  is dropped (``CASCADE``: dependent views go too, and the next dbt run rebuilds them) and
  created anew.
- Schemas, and tables created by :meth:`create_table` (ingest's empty tables) and their unique
  keys (:meth:`ensure_unique_key`), are created in a separate short autocommit connection under
  an advisory lock: ``IF NOT EXISTS`` is not safe between concurrent transactions, and Dagster's
  multiprocess executor runs steps in parallel.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import polars as pl
import psycopg
from psycopg import errors

from dagster_project.warehouse.base import (
    WarehouseSession,
    WriteMode,
    check_write_args,
    qualified,
    quote,
)
from dagster_project.warehouse.pg_types import csv_ready, frame_from_csv, pg_type, to_csv

log = logging.getLogger(__name__)

COPY_CHUNK_ROWS = 200_000
DDL_LOCK = 0x62695F646466  # advisory lock key serialising this engine's CREATE SCHEMA/TABLE
STAGE = "_bi_stage"

# string literals, quoted identifiers and comments, where a "?" is not a placeholder
_SQL_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?|%", re.DOTALL)


def to_pyformat(sql: str) -> str:
    """DuckDB-style ``?`` placeholders to psycopg's ``%s`` (and a literal ``%`` to ``%%``)."""

    def swap(m: re.Match) -> str:
        token = m.group(0)
        if token == "?":
            return "%s"
        return token.replace("%", "%%")

    return _SQL_TOKENS.sub(swap, sql)


class PostgresSession(WarehouseSession):
    dialect = "postgres"

    def __init__(self, con: psycopg.Connection, dsn: str):
        self._con = con
        self._dsn = dsn
        self._schemas: set[str] = set()

    @classmethod
    @contextlib.contextmanager
    def open(cls, dsn: str, read_only: bool = False, timeout_s: float | None = None,
             client_id: str | None = None) -> Iterator[PostgresSession]:
        """``read_only``: a read-only transaction; ``timeout_s``: the statement timeout;
        ``client_id``: the transaction's ``app.client_id``, which row-level security on the
        client-keyed reporting tables reads (README "Roles and BI access")."""
        con = psycopg.connect(dsn, application_name="bi-warehouse")
        con.read_only = read_only  # every transaction of the session: writes are refused
        try:
            con.execute("set time zone 'UTC'")
            con.execute("set datestyle to 'ISO, YMD'")
            if timeout_s:
                con.execute("select set_config('statement_timeout', %s, true)",
                            [f"{int(timeout_s * 1000)}ms"])
            if client_id is not None:
                con.execute("select set_config('app.client_id', %s, true)", [client_id])
            yield cls(con, dsn)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()

    # --- queries -----------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence | None = None) -> None:
        if params:
            self._con.execute(to_pyformat(sql), params)
        else:
            self._con.execute(sql)

    def scalar(self, sql: str, params: Sequence | None = None):
        cur = self._con.execute(to_pyformat(sql), params) if params else self._con.execute(sql)
        row = cur.fetchone()
        return row[0] if row else None

    def read(self, sql: str, params: Sequence | None = None) -> pl.DataFrame:
        query = self._bind(sql, params).strip().rstrip(";")
        columns = self._describe(query)
        data = bytearray()
        with self._con.cursor() as cur, cur.copy(f"copy ({query}) to stdout (format csv)") as cp:
            for block in cp:
                data += block
        return frame_from_csv(bytes(data), columns)

    def _bind(self, sql: str, params: Sequence | None) -> str:
        """Parameters merged client-side: ``COPY`` takes no server-side parameters."""
        if not params:
            return sql
        return psycopg.ClientCursor(self._con).mogrify(to_pyformat(sql), params)

    def _describe(self, query: str) -> list[tuple[str, int, int]]:
        """(name, type oid, typmod) of each result column, from the unnamed prepared statement."""
        pgconn, encoding = self._con.pgconn, self._con.info.encoding
        prepared = pgconn.prepare(b"", query.encode(encoding))
        if prepared.status != psycopg.pq.ExecStatus.COMMAND_OK:
            raise errors.error_from_result(prepared, encoding=encoding)
        described = pgconn.describe_prepared(b"")
        if described.status != psycopg.pq.ExecStatus.COMMAND_OK:
            raise errors.error_from_result(described, encoding=encoding)
        return [
            (described.fname(i).decode(encoding), described.ftype(i), described.fmod(i))
            for i in range(described.nfields)
        ]

    # --- DDL ---------------------------------------------------------------------------------

    def _ddl_outside(self, statements: list[str]) -> None:
        """Run ``IF NOT EXISTS`` DDL in its own committed transaction, serialised by an
        advisory lock; losing a race to a writer outside this engine is not an error."""
        with psycopg.connect(self._dsn, autocommit=True) as con:
            con.execute("select pg_advisory_lock(%s)", [DDL_LOCK])
            for statement in statements:
                try:
                    con.execute(statement)
                except (errors.UniqueViolation, errors.DuplicateTable, errors.DuplicateSchema):
                    pass

    def lock(self, name: str, shared: bool = False) -> None:
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        self._con.execute(f"select {fn}(hashtextextended(%s, 0))", [name])

    def ensure_unique_key(self, table: str, columns: Sequence[str]) -> bool:
        schema, name = table.split(".")
        index = f"{name}_key"
        if self.scalar("select 1 from pg_indexes where schemaname = ? and indexname = ?",
                       [schema, index]):
            return True
        cols = ", ".join(quote(c) for c in columns)
        try:  # committed on its own, like create_table: the index outlives a failed load
            with psycopg.connect(self._dsn, autocommit=True) as con:
                con.execute("select pg_advisory_lock(%s)", [DDL_LOCK])
                con.execute(f"create unique index if not exists {quote(index)} "
                            f"on {qualified(table)} ({cols})")
        except errors.UniqueViolation as exc:
            log.warning("%s repeats keys (%s): no unique index on %s until they are removed",
                        table, str(exc).splitlines()[0], cols)
            return False
        return True

    def clock(self) -> datetime:
        return self._con.execute("select clock_timestamp() at time zone 'UTC'").fetchone()[0]

    def _ensure_schema(self, schema: str) -> None:
        if schema in self._schemas:
            return
        if not self.scalar("select 1 from pg_namespace where nspname = ?", [schema]):
            self._ddl_outside([f"create schema if not exists {quote(schema)}"])
        self._schemas.add(schema)

    def create_table(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        if self._columns(table):  # also sees a table this transaction created
            return
        schema = table.split(".")[0]
        cols = ", ".join(f"{quote(name)} {sql_type}" for name, sql_type in columns)
        self._ddl_outside(
            [
                f"create schema if not exists {quote(schema)}",
                f"create table if not exists {qualified(table)} ({cols})",
            ]
        )
        self._schemas.add(schema)

    def _columns(self, table: str) -> list[tuple[str, str]]:
        """(name, type) of an existing table or view, in order; [] when there is none.

        Looked up with a query on the catalogs, not ``to_regclass``: a name lookup that finds
        nothing leaves a negative entry in the session's catalog cache, and the schema or table
        that ``_ddl_outside`` then commits in another connection would stay invisible to this
        transaction ("schema ... does not exist") until some new lock flushes the cache."""
        schema, name = table.split(".")
        rows = self._con.execute(
            "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
            "join pg_class c on c.oid = a.attrelid "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
            "order by a.attnum",
            [schema, name],
        ).fetchall()
        return [(name, type_) for name, type_ in rows]

    # --- writes ------------------------------------------------------------------------------

    def _copy_in(self, target: str, df: pl.DataFrame) -> None:
        """Stream ``df`` into ``COPY target FROM STDIN`` as CSV, chunk by chunk: the next chunk
        is rendered (polars, off the GIL) while the server parses the current one."""
        cols = ", ".join(quote(c) for c in df.columns)
        chunks = csv_ready(df).iter_slices(COPY_CHUNK_ROWS)
        with (
            ThreadPoolExecutor(max_workers=1) as render,
            self._con.cursor() as cur,
            cur.copy(f"copy {target} ({cols}) from stdin (format csv)") as cp,
        ):
            pending = None
            for chunk in chunks:
                rendered = render.submit(to_csv, chunk)
                if pending is not None:
                    cp.write(pending.result())
                pending = rendered
            if pending is not None:
                cp.write(pending.result())

    def _create(self, target: str, columns: list[tuple[str, str]]) -> None:
        cols = ", ".join(f"{quote(name)} {sql_type}" for name, sql_type in columns)
        self._con.execute(f"create table {target} ({cols})")

    def temp_table(self, name: str, df: pl.DataFrame) -> str:
        self._con.execute(f"drop table if exists pg_temp.{quote(name)}")
        cols = ", ".join(f"{quote(c)} {pg_type(d)}" for c, d in df.schema.items())
        self._con.execute(f"create temp table {quote(name)} ({cols}) on commit drop")
        self._copy_in(quote(name), df)
        return quote(name)

    def _insert_from_stage(self, target: str, df: pl.DataFrame) -> None:
        cols = ", ".join(quote(c) for c in df.columns)
        self._con.execute(f"insert into {target} ({cols}) select {cols} from {quote(STAGE)}")

    def replace_from(self, table: str, source: str) -> None:
        self._ensure_schema(table.split(".")[0])
        target = qualified(table)
        existing, wanted = self._columns(table), self._columns(source)
        if existing and existing == wanted:
            cols = ", ".join(quote(name) for name, _ in wanted)
            self._con.execute(f"truncate {target}")
            self._con.execute(f"insert into {target} ({cols}) select {cols} from {qualified(source)}")
            return
        if existing:
            log.warning("%s changes columns: dropped (with dependent views) and recreated", table)
            self._con.execute(f"drop table {target} cascade")
        self._con.execute(f"create table {target} as select * from {qualified(source)}")

    def write(
        self,
        table: str,
        df: pl.DataFrame,
        mode: WriteMode = "replace",
        key: Sequence[str] | None = None,
    ) -> int:
        check_write_args(table, mode, key)
        self._ensure_schema(table.split(".")[0])
        target = qualified(table)
        wanted = [(name, pg_type(dtype)) for name, dtype in df.schema.items()]
        existing = self._columns(table)
        if not existing:
            self._create(target, wanted)
            self._copy_in(target, df)
        elif mode == "append":
            self._copy_in(target, df)
        elif mode == "upsert":
            self.temp_table(STAGE, df)
            match = " and ".join(f"t.{quote(k)} is not distinct from s.{quote(k)}" for k in key)
            self._con.execute(f"delete from {target} t using {quote(STAGE)} s where {match}")
            self._insert_from_stage(target, df)
        elif existing == wanted:
            self.temp_table(STAGE, df)
            self._con.execute(f"truncate {target}")
            self._insert_from_stage(target, df)
        else:
            log.warning("%s changes columns: dropped (with dependent views) and recreated", table)
            self._con.execute(f"drop table {target} cascade")
            self._create(target, wanted)
            self._copy_in(target, df)
        return df.height
