"""Type mapping between polars and PostgreSQL, both ways, for CSV ``COPY``.

Writing: :func:`pg_type` gives the column type a frame's dtype is stored as (spelled as
``format_type()`` spells it, so an existing table's columns can be compared with a frame's),
:func:`csv_ready` turns the frame into columns polars writes as CSV that PostgreSQL parses back
to the same values (nested values as JSON, tz-aware timestamps in UTC).

Reading: :func:`frame_from_csv` parses ``COPY (query) TO STDOUT (FORMAT csv)`` output, with
every column read as text and converted by the result column's type OID. Floats round-trip
exactly: PostgreSQL 12+ prints the shortest exact representation, and so does polars.
Unsigned 64-bit and unconstrained ``numeric`` come back as Float64 (sums of bigint are
``numeric`` in PostgreSQL); ``numeric(p, 0)`` with p <= 18 as Int64.
"""

from __future__ import annotations

import io

import polars as pl

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"


def pg_type(dtype: pl.DataType) -> str:
    """The PostgreSQL column type for a polars dtype."""
    simple = {
        pl.Int8: "smallint",
        pl.Int16: "smallint",
        pl.UInt8: "smallint",
        pl.Int32: "integer",
        pl.UInt16: "integer",
        pl.Int64: "bigint",
        pl.UInt32: "bigint",
        pl.UInt64: "numeric(20,0)",
        pl.Int128: "numeric(39,0)",
        pl.Float32: "real",
        pl.Float64: "double precision",
        pl.Boolean: "boolean",
        pl.String: "text",
        pl.Categorical: "text",
        pl.Enum: "text",
        pl.Null: "text",
        pl.Date: "date",
        pl.Time: "time without time zone",
    }
    base = dtype.base_type()
    if base in simple:
        return simple[base]
    if isinstance(dtype, pl.Datetime):
        return "timestamp with time zone" if dtype.time_zone else "timestamp without time zone"
    if isinstance(dtype, pl.Decimal):
        return f"numeric({dtype.precision},{dtype.scale})" if dtype.precision else "numeric"
    if dtype.is_nested():
        return "jsonb"
    raise TypeError(f"no PostgreSQL type for polars dtype {dtype}")


def csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with every column in a form polars writes as CSV text PostgreSQL reads back."""
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, (pl.Categorical, pl.Enum, pl.Null)):
            col = col.cast(pl.String)
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        elif isinstance(dtype, pl.Struct):
            col = pl.when(col.is_not_null()).then(col.struct.json_encode())
        elif dtype.is_nested():  # list/array: encode {"v": [...]} and keep the [...] part
            wrapped = pl.struct(col.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
            col = pl.when(col.is_not_null()).then(wrapped)
        else:
            pg_type(dtype)  # raises for dtypes without a mapping (Binary, Duration, Object)
        exprs.append(col.alias(name))
    return df.select(exprs)


def to_csv(df: pl.DataFrame) -> str:
    """A :func:`csv_ready` frame as header-less CSV: null unquoted-empty, '' as ``""``."""
    return df.write_csv(include_header=False, datetime_format=DATETIME_FORMAT, null_value="")


# type OIDs of pg_type (stable across PostgreSQL versions)
_BOOL, _INT8, _INT2, _INT4, _OID = 16, 20, 21, 23, 26
_FLOAT4, _FLOAT8, _NUMERIC = 700, 701, 1700
_DATE, _TIME, _TIMESTAMP, _TIMESTAMPTZ = 1082, 1083, 1114, 1184


def polars_type(oid: int, typmod: int = -1) -> pl.DataType:
    """The polars dtype a result column of type ``oid`` is read as (text for anything else)."""
    if oid == _NUMERIC:
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        return pl.Int64() if typmod >= 4 and scale == 0 and precision <= 18 else pl.Float64()
    return {
        _BOOL: pl.Boolean(),
        _INT2: pl.Int16(),
        _INT4: pl.Int32(),
        _INT8: pl.Int64(),
        _OID: pl.Int64(),
        _FLOAT4: pl.Float32(),
        _FLOAT8: pl.Float64(),
        _DATE: pl.Date(),
        _TIME: pl.Time(),
        _TIMESTAMP: pl.Datetime("us"),
        _TIMESTAMPTZ: pl.Datetime("us", "UTC"),
    }.get(oid, pl.String())


def _from_text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.Boolean:
        return col == "t"
    if dtype == pl.Date:
        return col.str.to_date("%Y-%m-%d")
    if dtype == pl.Time:
        return col.str.to_time("%H:%M:%S%.f")
    if isinstance(dtype, pl.Datetime):
        fmt = "%Y-%m-%d %H:%M:%S%.f" + ("%#z" if dtype.time_zone else "")
        return col.str.to_datetime(fmt, time_unit="us", time_zone=dtype.time_zone)
    return col.cast(dtype)


def frame_from_csv(data: bytes, columns: list[tuple[str, int, int]]) -> pl.DataFrame:
    """Parse header-less CSV ``COPY`` output of a result with ``(name, oid, typmod)`` columns.

    Repeated column names get a ``_<n>`` suffix (polars frames need unique names).
    """
    names: list[str] = []
    for name, _, _ in columns:
        unique, n = name, 1
        while unique in names:
            unique, n = f"{name}_{n}", n + 1
        names.append(unique)
    dtypes = [polars_type(oid, typmod) for _, oid, typmod in columns]
    if not data:
        return pl.DataFrame(schema=dict(zip(names, dtypes)))
    text = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        schema={n: pl.String for n in names},
        quote_char='"',
    )
    return text.select(_from_text(n, d).alias(n) for n, d in zip(names, dtypes))
