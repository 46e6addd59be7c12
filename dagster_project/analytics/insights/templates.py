"""Sentences from templates: ``"{platform} is your highest revenue-generating platform with
{revenue} generated"`` over a frame whose columns hold the placeholders' values.

A placeholder named in the kind's ``numbers`` is written by its format
(:mod:`.formatting`); any other placeholder is a text column written as it is. The template is
split once (a loop over the template's parts, not over rows) into one ``concat_str``.
"""

from __future__ import annotations

import string

import polars as pl

from .formatting import text


def placeholders(template: str) -> list[str]:
    """The names in ``template``, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def render(template: str, numbers: dict[str, str]) -> pl.Expr:
    """The sentence expression: literal parts and placeholders, numbers through their format.
    A template whose placeholder has a format spec or conversion raises ValueError."""
    parts: list[pl.Expr] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"template: placeholder {{{name}}} may not carry a format spec; "
                             "its format comes from the kind's numbers")
        parts.append(text(pl.col(name), numbers[name]) if name in numbers else pl.col(name).cast(pl.String))
    return pl.concat_str(parts) if parts else pl.lit("")
