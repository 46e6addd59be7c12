"""What the raw-table asset checks read: the key check over the whole table (in SQL), and the
rows of the latest load for the value expectations.

The key check stays exact over every row (a duplicate across loads matters as much as one within
a load), but runs in the warehouse and returns counts, never the rows. The value rules
(allowed values, bounds, not-null) only need looking at once per row: rows that reached raw
through ingest passed them already, so each run checks the batch it loaded, not the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from dagster_project.contract import TableContract
from dagster_project.ingest.tables import raw_table
from dagster_project.warehouse import WarehouseSession, qualified, quote

SAMPLE = 5
CHUNK_ROWS = 1_000_000  # rows of the latest load validated at a time


@dataclass(frozen=True)
class KeyReport:
    rows: int
    duplicate_keys: int  # key values held by more than one row
    null_keys: int  # rows with a null in a key column
    sample: tuple[str, ...]  # a few duplicated key values, as text

    @property
    def ok(self) -> bool:
        return self.duplicate_keys == 0 and self.null_keys == 0


def check_keys(session: WarehouseSession, contract: TableContract) -> KeyReport:
    """Duplicate and null keys of ``raw.<table>``, counted in the warehouse."""
    target = qualified(raw_table(contract.name))
    cols = ", ".join(quote(c) for c in contract.key)
    any_null = " or ".join(f"{quote(c)} is null" for c in contract.key)
    counts = session.read(
        f"select (select count(*) from {target}) as n_rows, "
        f"(select count(*) from (select {cols} from {target} group by {cols} "
        f"having count(*) > 1) as d) as n_duplicate, "
        f"(select count(*) from {target} where {any_null}) as n_null")
    n_rows, n_dup, n_null = counts.row(0)
    sample = session.read(
        f"select {cols} from {target} group by {cols} having count(*) > 1 "
        f"order by {cols} limit {SAMPLE}") if n_dup else pl.DataFrame()
    shown = tuple(", ".join(str(v) for v in row) for row in sample.iter_rows())
    return KeyReport(int(n_rows), int(n_dup), int(n_null), shown)


def latest_batch(session: WarehouseSession, contract: TableContract, max_rows: int = CHUNK_ROWS
                 ) -> tuple[datetime | None, Iterator[pl.DataFrame]]:
    """The latest load into ``raw.<table>`` (its ``_loaded_at``) and its rows (contract columns),
    read a group of whole files at a time, about ``max_rows`` rows each (a first load of a big
    table is one batch: it never sits in memory at once). Iterate inside the session."""
    target = qualified(raw_table(contract.name))
    loaded_at = session.scalar(f"select max(_loaded_at) from {target}")
    if loaded_at is None:
        return None, iter([contract.empty_frame()])
    files = session.read(f"select _source_file, count(*) as n from {target} where _loaded_at = ? "
                         "group by _source_file order by _source_file", [loaded_at])
    groups = (files.with_columns(_group=(pl.col("n").cum_sum() - 1) // max_rows)  # consecutive
              .group_by("_group", maintain_order=True).agg("_source_file")["_source_file"])
    cols = ", ".join(quote(c) for c in contract.column_names)

    def chunks() -> Iterator[pl.DataFrame]:
        for names in groups:
            marks = ", ".join("?" for _ in names)
            yield session.read(f"select {cols} from {target} where _loaded_at = ? "
                               f"and _source_file in ({marks})", [loaded_at, *names])

    return loaded_at, chunks()
