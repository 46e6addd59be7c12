"""Read one landing file (Parquet or CSV) into a polars frame, or say why it cannot be read."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from dagster_project.contract import TableContract

SOURCE_ROW = "_source_row"
SOURCE_FILE = "_source_file"  # added by the loader: the file path relative to the landing dir
READABLE_SUFFIXES = (".parquet", ".csv")


class UnreadableFile(Exception):
    """A file that cannot be loaded at all; ``reason`` says why in words an operator can act on."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # polars raises several types for corrupt or truncated files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFile(path, f"not a readable Parquet file ({first_line})") from exc


def _read_csv(path: Path) -> pl.DataFrame:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = data[exc.start : exc.start + 1].hex()
        raise UnreadableFile(
            path, f"not valid UTF-8 (byte 0x{byte} at offset {exc.start}); re-export as UTF-8"
        ) from exc
    if b"\x00" in data:
        raise UnreadableFile(path, "contains NUL bytes (UTF-16 or binary?); re-export as UTF-8")
    try:
        # every field as text: the contract types are applied (and failures flagged) in validate
        return pl.read_csv(io.BytesIO(data), infer_schema=False)
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise UnreadableFile(path, f"malformed CSV ({first_line})") from exc


def read_file(path: str | Path, contract: TableContract) -> pl.DataFrame:
    """The file's rows as the contract's columns (native or text values) plus ``_source_row``.

    ``_source_row`` is the 1-based position of the row among the file's data rows (the CSV
    header is not counted). Columns outside the contract are dropped; nullable contract
    columns missing from the file are added as nulls. Raises :class:`UnreadableFile` for an
    empty file, an unknown extension, a corrupt/truncated Parquet file, malformed CSV
    (e.g. an unterminated quote), text that is not UTF-8, or a missing required column.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        raise UnreadableFile(
            path,
            f"unknown file type {suffix or '(no extension)'!r}; "
            f"expected one of {', '.join(READABLE_SUFFIXES)}",
        )
    if path.stat().st_size == 0:
        raise UnreadableFile(path, "empty file (0 bytes)")
    df = _read_parquet(path) if suffix == ".parquet" else _read_csv(path)
    missing = [c for c in contract.required_columns if c not in df.columns]
    if missing:
        raise UnreadableFile(path, f"missing required column(s) {', '.join(missing)}")
    return (
        df.select(
            [
                pl.col(c) if c in df.columns else pl.lit(None, dtype=pl.String).alias(c)
                for c in contract.column_names
            ]
        )
        .with_row_index(SOURCE_ROW, offset=1)
        .select(*contract.column_names, pl.col(SOURCE_ROW).cast(pl.Int64))
    )
