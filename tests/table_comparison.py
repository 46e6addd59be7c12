"""One table built by two engines (or two ways), compared: what "the same rows" means here.

The same columns, the same row count, identical non-numeric values (keys, dimensions, dates,
timestamps as naive UTC) and numeric values equal to 1e-9 relative, row by row after an
engine-independent sort. Used by the warehouse-equivalence tests (DuckDB against PostgreSQL,
DuckDB against Spark) and by Spark's incremental-against-full-refresh test.
"""

from __future__ import annotations

import polars as pl
from polars.testing import assert_series_equal

REL_TOL = 1e-9
ABS_TOL = 1e-12  # values that are zero on one engine may be a rounding residue on the other


def run_time_columns(df: pl.DataFrame) -> list[str]:
    """Lineage columns that hold when a row was loaded, built or detected: two runs differ there
    by design."""
    return [c for c in df.columns if c.endswith("loaded_at") or c in ("built_at", "detected_at")]


def normalized(df: pl.DataFrame) -> pl.DataFrame:
    """Numbers as Float64 (integer widths and decimal types differ between the engines),
    timestamps without zone, rows in an engine-independent order; run-time lineage dropped."""
    df = df.drop(run_time_columns(df))
    df = df.with_columns(
        [pl.col(c).cast(pl.Float64) for c, d in df.schema.items() if d.is_numeric()]
        + [
            pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            for c, d in df.schema.items()
            if isinstance(d, pl.Datetime) and d.time_zone
        ]
    ).select(sorted(df.columns))
    numeric = [c for c, d in df.schema.items() if d.is_numeric()]
    others = [c for c in df.columns if c not in numeric]
    order = [pl.col(c) for c in others] + [pl.col(c).round_sig_figs(9) for c in numeric]
    return df.sort(order, nulls_last=True) if order else df


def differences(expected: pl.DataFrame, actual: pl.DataFrame) -> list[str]:
    """What differs between two normalized versions of one table ([] when nothing)."""
    if actual.columns != expected.columns:
        return [f"columns {actual.columns} != {expected.columns}"]
    if actual.height != expected.height:
        return [f"{actual.height} rows != {expected.height}"]
    found = []
    for c, dtype in expected.schema.items():
        try:
            if dtype.is_numeric():
                assert_series_equal(
                    actual[c], expected[c], check_dtypes=False, rel_tol=REL_TOL, abs_tol=ABS_TOL
                )
            else:  # keys and dimensions: identical, row by row
                assert_series_equal(actual[c], expected[c], check_dtypes=False, check_exact=True)
        except AssertionError:
            found.append(f"column {c}")
    return found
