"""Cast landing values (text from CSV, native from Parquet) to the contract types, vectorized.

Every cast is lenient (``strict=False``): a value that does not convert becomes null, and the
validation flags rows where a value that is not missing (:func:`is_missing`) became null as a
``type`` violation. The rules (also in ``raw_tables.yml``'s header):

- text is trimmed of leading and trailing white space (Unicode White_Space); text that is empty
  after trimming is a missing value, like a null;
- text holding a NUL character is a type violation in every column (PostgreSQL text cannot hold
  it; the rule is the same on DuckDB so both warehouses load the same rows);
- an integer column takes whole numbers only, whatever the physical type: text ``3`` or
  ``3.0``, a Parquet integer, a float or a decimal with a zero fraction; ``3.5`` is a type
  violation in CSV and in Parquet alike, never truncated;
- a time-zone-aware timestamp is converted to UTC, in a date column too (its UTC day);
- NaN and infinities are type violations: no amount, rate or metric may be non-finite.

:func:`unsupported_type` names the physical types that can never hold a contract type (a list,
a struct, a duration, ...): the reader rejects such a file as a whole instead of casting it.
"""

from __future__ import annotations

import polars as pl

from dagster_project.contract import ColumnContract

# Accepted text forms of timestamps: ISO 8601 with ``T`` or a space, optional fraction, optional
# offset (converted to UTC), or a bare date (midnight). Tried in order; the first match wins.
TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
TRUE_WORDS = {"true": True, "t": True, "1": True, "yes": True, "y": True}
FALSE_WORDS = {"false": False, "f": False, "0": False, "no": False, "n": False}
NUL = "\x00"


def _accepts(dtype: pl.DataType, target: ColumnContract) -> bool:
    if dtype in (pl.Null, pl.String):
        return True
    if target.type == "string":
        return dtype.is_integer()
    if target.type in ("int64", "float64"):
        return dtype.is_numeric()
    if target.type == "bool":
        return dtype == pl.Boolean or dtype.is_numeric()
    return dtype == pl.Date or isinstance(dtype, pl.Datetime)  # timestamp, date


def unsupported_type(dtype: pl.DataType, target: ColumnContract) -> str | None:
    """Why a file column of physical ``dtype`` can never hold ``target``'s type, or None.

    Text (CSV, Parquet strings; categoricals are read as text) goes through the text rules for
    every type; otherwise strings take integers (ids), numbers take any numeric type, bools
    take booleans and 0/1 numbers, timestamps and dates take dates and datetimes."""
    if _accepts(dtype, target):
        return None
    kind = "nested type " if dtype.is_nested() else "type "
    return (f"column {target.name} has {kind}{dtype} in the file, which cannot hold the "
            f"contract's {target.type}")


def is_missing(name: str, dtype: pl.DataType) -> pl.Expr:
    """True where the input counts as missing: null, or text that is blank after trimming."""
    col = pl.col(name)
    if dtype == pl.String:
        return col.is_null() | (col.str.strip_chars() == "")
    return col.is_null()


def _whole(number: pl.Expr) -> pl.Expr:
    """A float or decimal as Int64 when its fraction is zero (and it fits), else null."""
    return pl.when(number == number.round()).then(number.cast(pl.Int64, strict=False))


def _from_text(col: pl.Expr, target: ColumnContract) -> pl.Expr:
    trimmed = col.str.strip_chars()
    text = pl.when((trimmed != "") & ~trimmed.str.contains(NUL, literal=True)).then(trimmed)
    if target.type == "string":
        return text
    if target.type == "int64":
        return pl.coalesce(text.cast(pl.Int64, strict=False),
                           _whole(text.cast(pl.Float64, strict=False)))
    if target.type == "float64":
        return text.cast(pl.Float64, strict=False)
    if target.type == "bool":
        words = {**TRUE_WORDS, **FALSE_WORDS}
        return text.str.to_lowercase().replace_strict(words, default=None, return_dtype=pl.Boolean)
    if target.type == "date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    parsed = [
        text.str.strptime(pl.Datetime("us", "UTC"), fmt, strict=False, exact=True)
        for fmt in TIMESTAMP_FORMATS
    ]
    return pl.coalesce(parsed).dt.replace_time_zone(None)


def _naive_utc(col: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    if dtype.time_zone is not None:
        col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return col.cast(pl.Datetime("us"))


def _from_native(col: pl.Expr, dtype: pl.DataType, target: ColumnContract) -> pl.Expr:
    """``dtype`` is one :func:`unsupported_type` accepts for ``target`` (checked on reading)."""
    if target.type == "string":
        return col.cast(pl.String)
    if target.type == "bool":
        if dtype == pl.Boolean:
            return col
        return pl.when(col == 1).then(True).when(col == 0).then(False).otherwise(None)
    if target.type == "int64" and (dtype.is_float() or dtype.is_decimal()):
        return _whole(col)  # 2.0 -> 2, but 2.5 is not an integer: null (flagged)
    if target.type in ("int64", "float64"):
        return col.cast(target.polars_type, strict=False)
    if isinstance(dtype, pl.Datetime):
        utc = _naive_utc(col, dtype)
        return utc.dt.date() if target.type == "date" else utc
    return col.cast(target.polars_type)  # a date: as it is, or midnight for a timestamp


def to_contract_type(name: str, dtype: pl.DataType, target: ColumnContract) -> pl.Expr:
    """Expression casting column ``name`` (of ``dtype``) to ``target``'s type; failures -> null."""
    col = pl.col(name)
    if dtype == pl.Null:
        expr = pl.lit(None, dtype=target.polars_type)
    elif dtype == pl.String:
        expr = _from_text(col, target)
    else:
        expr = _from_native(col, dtype, target)
    if target.type == "float64":
        expr = pl.when(expr.is_finite()).then(expr)
    return expr.cast(target.polars_type).alias(name)
