"""What the raw-table asset checks read: the key check over the whole table (in SQL), and the
rows of the latest load for the value expectations.

The key check stays exact over every row (a duplicate across loads matters as much as one within
a load), but runs in the warehouse and returns counts, never the rows. The value rules
(allowed values, bounds, not-null) only need looking at once per row: rows that reached raw
through ingest passed them already, so each run checks the batch it loaded, not the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from dagster_project.contract import TableContract
from dagster_project.ingest.tables import raw_table
from dagster_project.warehouse import WarehouseSession, qualified, quote

SAMPLE = 5


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


def latest_batch(session: WarehouseSession, contract: TableContract
                 ) -> tuple[datetime | None, pl.DataFrame]:
    """The rows of the latest load into ``raw.<table>`` (its ``_loaded_at``), contract columns."""
    target = qualified(raw_table(contract.name))
    loaded_at = session.scalar(f"select max(_loaded_at) from {target}")
    if loaded_at is None:
        return None, contract.empty_frame()
    cols = ", ".join(quote(c) for c in contract.column_names)
    return loaded_at, session.read(f"select {cols} from {target} where _loaded_at = ?", [loaded_at])
