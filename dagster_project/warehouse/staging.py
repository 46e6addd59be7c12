"""Tables rebuilt a part at a time: each part is appended to a staging table as it is computed,
and the targets are replaced from their staging tables at the end, all in one session.

So the caller holds one part at a time, not the whole table, and the replacement keeps the
warehouse's write guarantees: everything happens in the session's one transaction, so a failed
or killed run leaves the old tables (and no staging table) behind, readers see the old rows
until commit, and a rerun replaces the tables again (never appends twice). On PostgreSQL the
targets' exclusive lock (``TRUNCATE``) is taken only by the final replace, not while the parts
are computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from dagster_project.warehouse.base import WarehouseSession, qualified

STAGE_PREFIX = "_stage_"


def stage_name(table: str) -> str:
    """``schema._stage_table``: the staging table of ``schema.table``, beside it."""
    schema, name = table.split(".")
    return f"{schema}.{STAGE_PREFIX}{name}"


class StagedReplace:
    """Replace ``tables`` from parts appended in ``session``: ``append`` each part, then
    ``finish`` once (every table must have had a part: its columns come from them)."""

    def __init__(self, session: WarehouseSession, tables: Sequence[str]):
        for table in tables:
            if table.count(".") != 1:
                raise ValueError(f"tables must be schema.table names, got {table!r}")
        self._session = session
        self._parts = dict.fromkeys(tables, 0)

    def append(self, table: str, part: pl.DataFrame) -> None:
        if table not in self._parts:
            raise ValueError(f"table must be one of {list(self._parts)}, got {table!r}")
        # the first part creates the staging table afresh
        self._session.write(stage_name(table), part, "append" if self._parts[table] else "replace")
        self._parts[table] += 1

    def finish(self) -> None:
        empty = [t for t, n in self._parts.items() if not n]
        if empty:
            raise ValueError(f"no part was appended to {empty}: nothing to replace them with")
        for table in self._parts:
            self._session.replace_from(table, stage_name(table))
            self._session.execute(f"drop table {qualified(stage_name(table))}")
