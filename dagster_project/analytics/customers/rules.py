"""Rule tables: ordered segment rules over numeric columns, first match wins.

A rule table is a YAML file with a ``rules`` list; each rule has ``segment``, a
``description`` and, for any of the table's columns, an inclusive range ``[min, max]``
(``null`` = open). A customer (or client) gets the segment of the first rule all of whose
ranges hold. The last rule must have no range, so every row gets a segment. The same table is
rendered as a SQL ``CASE`` (RFM segments, computed in the warehouse) or as a polars expression
(client health), so the documented file is the one the code runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Rule:
    segment: str
    description: str
    ranges: dict[str, tuple[float | None, float | None]]


def load_rules(path: str | Path, columns: tuple[str, ...]) -> list[Rule]:
    """The rules of ``path``; ValueError naming the rule and the problem when a range is not
    ``[min, max]`` with min <= max, names a column outside ``columns``, or the last rule is not
    a catch-all."""
    raw = yaml.safe_load(Path(path).read_text())
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list) or not raw["rules"]:
        raise ValueError(f"{path}: expected a non-empty 'rules' list")
    rules = []
    for i, item in enumerate(raw["rules"]):
        name = f"{path}: rule {i + 1}"
        named = isinstance(item, dict) and isinstance(item.get("segment"), str)
        if not named:  # a problem in the file's content, not a programming error
            raise ValueError(f"{name}: every rule needs a 'segment' name")
        ranges = {}
        for key, value in item.items():
            if key in ("segment", "description"):
                continue
            if key not in columns:
                raise ValueError(f"{name} ({item['segment']}): unknown column {key!r}; "
                                 f"known: {', '.join(columns)}")
            if not (isinstance(value, list) and len(value) == 2):
                raise ValueError(f"{name} ({item['segment']}): {key} must be [min, max]")
            lo, hi = (None if v is None else float(v) for v in value)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{name} ({item['segment']}): {key} min {lo} > max {hi}")
            ranges[key] = (lo, hi)
        rules.append(Rule(item["segment"], str(item.get("description", "")), ranges))
    if rules[-1].ranges:
        raise ValueError(f"{path}: the last rule ({rules[-1].segment}) must have no range, "
                         "so that every row gets a segment")
    return rules


def _sql_condition(ranges: dict[str, tuple[float | None, float | None]]) -> str:
    parts = []
    for column, (lo, hi) in ranges.items():
        if lo is not None:
            parts.append(f"{column} >= {lo!r}")
        if hi is not None:
            parts.append(f"{column} <= {hi!r}")
    return " and ".join(parts) or "true"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_case(rules: list[Rule]) -> str:
    """``case when <ranges> then '<segment>' ... else '<last>' end``."""
    whens = " ".join(f"when {_sql_condition(r.ranges)} then {_quote(r.segment)}"
                     for r in rules[:-1])
    return f"case {whens} else {_quote(rules[-1].segment)} end" if whens else \
        _quote(rules[-1].segment)


def polars_segment(rules: list[Rule]) -> pl.Expr:
    """The segment as a polars expression (a null value fails its range)."""
    expr = pl.lit(rules[-1].segment)
    for rule in reversed(rules[:-1]):
        cond = pl.lit(True)
        for column, (lo, hi) in rule.ranges.items():
            if lo is not None:
                cond = cond & (pl.col(column) >= lo).fill_null(False)
            if hi is not None:
                cond = cond & (pl.col(column) <= hi).fill_null(False)
        expr = pl.when(cond).then(pl.lit(rule.segment)).otherwise(expr)
    return expr


def rules_table(rules: list[Rule]) -> pl.DataFrame:
    """The rules as a frame (order, segment, ranges in words, description) for metadata."""
    def bound(v: float | None, open_end: str) -> str:
        return open_end if v is None else f"{v:g}"

    def words(r: Rule) -> str:
        return ", ".join(f"{c} in [{bound(lo, '-inf')}, {bound(hi, 'inf')}]"
                         for c, (lo, hi) in r.ranges.items()) or "everything else"
    return pl.DataFrame({"order": list(range(1, len(rules) + 1)),
                         "segment": [r.segment for r in rules],
                         "condition": [words(r) for r in rules],
                         "description": [r.description for r in rules]})
