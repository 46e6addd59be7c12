"""Quarantine rows: where a bad row came from, why it failed, and the row as it was read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from dagster_project.contract import TableContract
from dagster_project.ingest.read import SOURCE_FILE, SOURCE_ROW

QUARANTINE_SCHEMA = pl.Schema(
    {
        "source_file": pl.String,
        "source_row": pl.Int64,
        "rule": pl.String,
        "column_name": pl.String,
        "value": pl.String,
        "violations": pl.String,
        "row_json": pl.String,
        "quarantined_at": pl.Datetime("us"),
    }
)


def _original_text(contract: TableContract) -> list[pl.Expr]:
    """``value`` and ``row_json`` from the row as it was read (text or native values; the
    reader has rejected files with types that do not render as text, e.g. nested ones)."""

    def text(c: str) -> pl.Expr:  # NUL written as the JSON escape: PostgreSQL text refuses it
        return pl.col(c).cast(pl.String).str.replace_all("\x00", "\\u0000", literal=True)

    value = pl.when(pl.col("__rule") == "duplicate_key").then(
        pl.concat_str([text(k) for k in contract.key], separator=",", ignore_nulls=True)
    )
    for c in contract.column_names:
        value = value.when(pl.col("__column") == c).then(text(c))
    row = pl.struct([pl.col(c) for c in contract.column_names]).struct.json_encode()
    return [value.alias("value"), row.alias("row_json")]


def quarantine_rows(
    bad: pl.DataFrame, frames: Sequence[pl.DataFrame], contract: TableContract, now: datetime
) -> pl.DataFrame:
    """Join ``bad`` (_source_file, _source_row, __rule, __column, violations) back to the rows
    as read (``frames``, one per file) for ``value`` and ``row_json``; QUARANTINE_SCHEMA."""
    parts = []
    for frame in frames:
        if not frame.height:
            continue
        file_bad = bad.filter(pl.col(SOURCE_FILE) == frame[SOURCE_FILE][0])
        if not file_bad.height:
            continue
        joined = file_bad.join(
            frame.drop(SOURCE_FILE), on=SOURCE_ROW, how="left", maintain_order="left"
        )
        parts.append(
            joined.select(
                pl.col(SOURCE_FILE).alias("source_file"),
                pl.col(SOURCE_ROW).alias("source_row"),
                pl.col("__rule").alias("rule"),
                pl.col("__column").alias("column_name"),
                *_original_text(contract),
                "violations",
            )
        )
    if not parts:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return (
        pl.concat(parts)
        .with_columns(pl.lit(now, pl.Datetime("us")).alias("quarantined_at"))
        .select(QUARANTINE_SCHEMA.names())
        .sort("source_file", "source_row")
    )
