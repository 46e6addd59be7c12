"""Cast landing values (text from CSV, native from Parquet) to the contract types, vectorized.

Every cast is lenient (``strict=False``): a value that does not convert becomes null, and the
validation flags rows where a non-null input became null as a ``type`` violation.
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


def _from_text(col: pl.Expr, target: ColumnContract) -> pl.Expr:
    text = col.str.strip_chars()
    if target.type == "string":
        return col
    if target.type == "int64":
        return text.cast(pl.Int64, strict=False)
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


def _from_native(col: pl.Expr, dtype: pl.DataType, target: ColumnContract) -> pl.Expr:
    if target.type == "string":
        return col.cast(pl.String)
    if target.type == "bool":
        if dtype == pl.Boolean:
            return col
        return pl.when(col == 1).then(True).when(col == 0).then(False).otherwise(None)
    if target.type in ("int64", "float64") and dtype.is_numeric():
        if target.type == "int64" and dtype.is_float():
            # 2.0 -> 2, but 2.5 is not an integer: null (flagged), never silently truncated
            return pl.when(col == col.round()).then(col.cast(pl.Int64, strict=False))
        return col.cast(target.polars_type, strict=False)
    if target.type == "timestamp" and isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return col.cast(pl.Datetime("us"))
    if target.type == "timestamp" and dtype == pl.Date:
        return col.cast(pl.Datetime("us"))
    if target.type == "date" and isinstance(dtype, pl.Datetime):
        return col.dt.date()
    if target.type == "date" and dtype == pl.Date:
        return col
    return pl.lit(None, dtype=target.polars_type)  # nothing sensible converts: all flagged


def to_contract_type(name: str, dtype: pl.DataType, target: ColumnContract) -> pl.Expr:
    """Expression casting column ``name`` (of ``dtype``) to ``target``'s type; failures -> null.

    Non-finite floats (NaN, inf) also become null: no amount, rate or metric may be NaN.
    """
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
