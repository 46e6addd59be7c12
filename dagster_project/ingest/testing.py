"""Helpers for tests: small valid frames for any contract table, and landing files from them.

``valid_rows(table, n)`` satisfies every contract rule (types, not-null, bounds, allowed values,
time range for any load time after ``start + max(n minutes, 366 days)``, unique keys), so a test can
break exactly one rule in one row and know what to expect.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from dagster_project.contract import ColumnContract, table

DEFAULT_START = datetime(2024, 1, 1)


def _column(c: ColumnContract, table_name: str, n: int, start: datetime) -> pl.Series:
    i = range(n)
    if c.allowed:
        values = [c.allowed[k % len(c.allowed)] for k in i]
    elif c.type == "string":
        values = [f"{table_name}-{c.name}-{k}" for k in i]
    elif c.type == "int64":
        values = [k % 1000 for k in i]
    elif c.type == "float64":
        lo = c.min if c.min is not None else 0.0
        hi = c.max if c.max is not None else lo + 1000.0
        values = [lo + (hi - lo) * ((k % 10) + 0.5) / 10 for k in i]
    elif c.type == "bool":
        values = [k % 2 == 0 for k in i]
    elif c.type == "timestamp":
        values = [start + timedelta(minutes=k) for k in i]
    else:
        values = [(start + timedelta(days=k % 366)).date() for k in i]
    return pl.Series(c.name, values, dtype=c.polars_type)


def valid_rows(table_name: str, n: int = 5, start: datetime = DEFAULT_START) -> pl.DataFrame:
    """``n`` rows of ``table_name`` in contract dtypes that pass every ingest rule.

    Keys are unique because every table's key holds a per-row string id or timestamp.
    Timestamps advance one minute per row from ``start``; dates one day per row, cycling yearly.
    """
    contract = table(table_name)
    return pl.DataFrame([_column(c, table_name, n, start) for c in contract.columns])


def landing_path(landing_dir: Path, table_name: str, day: str, suffix: str = "parquet") -> Path:
    """The simulator's layout: ``<landing>/<table>/date=<day>/<table>-<day>.<suffix>``."""
    return Path(landing_dir) / table_name / f"date={day}" / f"{table_name}-{day}.{suffix}"


def write_landing_file(df: pl.DataFrame, path: Path) -> Path:
    """Write ``df`` as Parquet or CSV (by ``path``'s suffix), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        df.write_csv(path)
    else:
        df.write_parquet(path)
    return path
