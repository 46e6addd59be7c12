"""How a number appears in an insight: one rounding rule per format, used by the sentence and
by the supporting JSON alike, so that the JSON holds every number exactly as the sentence shows
it.

A format scales the value (percent: x 100), rounds it to its decimals half away from zero (as
SQL's ``round`` does; a float's binary value decides the rare exact halves) and writes it with
a thousands separator, a prefix and a suffix: money ``$4,500``, price ``$29.99``, percent
``12.3%``, ratio ``2.35x``, number ``1,234.5``, count ``1,204``. :func:`shown` is the rounded
number in display units, :func:`literal` the same digits as the JSON stores them, and
:func:`text` writes that same number.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Format:
    decimals: int
    scale: float = 1.0
    prefix: str = ""
    suffix: str = ""


FORMATS: dict[str, Format] = {
    "money": Format(0, prefix="$"),
    "price": Format(2, prefix="$"),
    "percent": Format(1, scale=100.0, suffix="%"),
    "ratio": Format(2, suffix="x"),
    "number": Format(1),
    "count": Format(0),
}


def _format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {name!r}") from None


def _scaled_units(expr: pl.Expr, fmt: Format) -> pl.Expr:
    """The shown value in units of its last decimal, as an integer (exact digits to write)."""
    return (expr.cast(pl.Float64) * fmt.scale * 10**fmt.decimals).round(0, mode="half_away_from_zero").cast(pl.Int64)


def _grouped(digits: pl.Expr) -> pl.Expr:
    """'4500' -> '4,500': groups of three from the right."""
    return digits.str.reverse().str.extract_all(r"\d{1,3}").list.join(",").str.reverse()


def _written(expr: pl.Expr, name: str, grouped: bool) -> tuple[pl.Expr, pl.Expr, Format]:
    """(sign, digits with the decimals, the format) of the rounded number."""
    fmt = _format(name)
    units = _scaled_units(expr, fmt)
    whole = (units.abs() // 10**fmt.decimals).cast(pl.String)
    body = _grouped(whole) if grouped else whole
    if fmt.decimals:
        frac = (units.abs() % 10**fmt.decimals).cast(pl.String).str.zfill(fmt.decimals)
        body = pl.concat_str(body, pl.lit("."), frac)
    return pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit("")), body, fmt


def literal(expr: pl.Expr, name: str) -> pl.Expr:
    """The rounded number as a JSON number literal in display units ('-1234.5'; null: 'null')."""
    sign, body, _ = _written(expr, name, grouped=False)
    return pl.concat_str(sign, body).fill_null(pl.lit("null"))


def shown(expr: pl.Expr, name: str) -> pl.Expr:
    """The number as the sentence shows it, in display units (percent: 12.3 for 0.1234)."""
    sign, body, _ = _written(expr, name, grouped=False)
    return pl.concat_str(sign, body).cast(pl.Float64)


def text(expr: pl.Expr, name: str) -> pl.Expr:
    """The number written as the sentence shows it (null stays null)."""
    sign, body, fmt = _written(expr, name, grouped=True)
    return pl.concat_str(sign, pl.lit(fmt.prefix), body, pl.lit(fmt.suffix))
