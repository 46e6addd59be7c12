"""Read one landing file (Parquet or CSV) into a polars frame, or say why it cannot be read."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from dagster_project.contract import TableContract
from dagster_project.ingest.coerce import unsupported_type

SOURCE_ROW = "_source_row"
SOURCE_FILE = "_source_file"  # added by the loader: the file path relative to the landing dir
READABLE_SUFFIXES = (".parquet", ".csv")  # matched case-insensitively (ingest and the sensor)


def is_readable_suffix(path: str | Path) -> bool:
    """Whether ingest reads files named like ``path`` (``.parquet``/``.csv`` in any case)."""
    return Path(path).suffix.lower() in READABLE_SUFFIXES


class UnreadableFile(Exception):
    """A file that cannot be loaded at all; ``reason`` says why in words an operator can act on."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _duplicates(names: list[str]) -> list[str]:
    return sorted({n for n in names if names.count(n) > 1})


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except pl.exceptions.DuplicateError as exc:
        raise UnreadableFile(path, f"duplicate column name ({_first_line(exc)})") from exc
    except Exception as exc:  # polars raises several types for corrupt or truncated files
        raise UnreadableFile(path, f"not a readable Parquet file ({_first_line(exc)})") from exc


def _as_text(path: Path, df: pl.DataFrame, contract: TableContract) -> pl.DataFrame:
    """Categoricals as text; binary columns as text when they are UTF-8 (else the file is
    rejected, as a CSV file that is not UTF-8 is); then every contract column's physical type
    must be one that can hold its contract type (:func:`coerce.unsupported_type`)."""
    wanted = [c for c in contract.columns if c.name in df.columns]
    textual = [c.name for c in wanted
               if isinstance(df.schema[c.name], pl.Categorical | pl.Enum | pl.Binary)]
    try:
        df = df.with_columns(pl.col(textual).cast(pl.String))
    except pl.exceptions.PolarsError as exc:
        raise UnreadableFile(path, f"a binary column among {', '.join(textual)} is not valid "
                             f"UTF-8 ({_first_line(exc)}); re-export as UTF-8 text") from exc
    problems = [p for c in wanted if (p := unsupported_type(df.schema[c.name], c))]
    if problems:
        raise UnreadableFile(path, "; ".join(problems))
    return df


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
        header = pl.read_csv(io.BytesIO(data), has_header=False, n_rows=1, infer_schema=False)
        # every field as text: the contract types are applied (and failures flagged) in validate
        df = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except Exception as exc:
        raise UnreadableFile(path, f"malformed CSV ({_first_line(exc)})") from exc
    repeated = _duplicates([v for v in header.row(0) if v is not None]) if header.height else []
    if repeated:  # polars would rename the second one and the contract would ignore it
        raise UnreadableFile(path, f"duplicate column name(s) {', '.join(repeated)} in the header")
    return df


def read_file(path: str | Path, contract: TableContract) -> pl.DataFrame:
    """The file's rows as the contract's columns (native or text values) plus ``_source_row``.

    ``_source_row`` is the 1-based position of the row among the file's data rows (the CSV
    header is not counted). Columns outside the contract are dropped; nullable contract
    columns missing from the file are added as nulls. Raises :class:`UnreadableFile` for an
    empty file, an unknown extension, a corrupt/truncated Parquet file, malformed CSV
    (e.g. an unterminated quote), text that is not UTF-8 (CSV, or a Parquet binary column),
    duplicate column names, a missing required column, or a Parquet column whose type cannot
    hold its contract type (nested lists and structs, durations, times, ...).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not is_readable_suffix(path):
        raise UnreadableFile(
            path,
            f"unknown file type {suffix or '(no extension)'!r}; "
            f"expected one of {', '.join(READABLE_SUFFIXES)}",
        )
    try:
        if path.stat().st_size == 0:
            raise UnreadableFile(path, "empty file (0 bytes)")
        df = (_as_text(path, _read_parquet(path), contract) if suffix == ".parquet"
              else _read_csv(path))
    except OSError as exc:  # removed or made unreadable since it was listed
        raise UnreadableFile(path, f"cannot be read ({exc.strerror or exc})") from exc
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
