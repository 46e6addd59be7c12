"""What the Spark session needs to know about a portable SQL statement: which tables it names
(to point them at the session's staging tables), what kind of statement it is, and the Spark
spelling of the portable column types. Pure text functions, no Spark."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dagster_project.warehouse.base import qualified

_IDENT = r'(?:"(?:[^"]|"")*"|`(?:[^`]|``)*`|[A-Za-z_][A-Za-z0-9_]*)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})*"
# string literals and comments, where a name is not a name; then dotted names
_TOKENS = re.compile(rf"'(?:[^'\\]|\\.)*'|--[^\n]*|/\*.*?\*/|(?P<name>{_NAME})", re.DOTALL)
_PARTS = re.compile(_IDENT)
_KEYWORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z]+)", re.DOTALL)
_INSERT = re.compile(rf"\s*insert\s+(?:into|overwrite)\s+(?:table\s+)?(?P<name>{_NAME})", re.IGNORECASE)
_VIEW = re.compile(r"\s*create\s+(?:or\s+replace\s+)?view\b", re.IGNORECASE)
_DROP = re.compile(rf"\s*drop\s+table\s+(?:if\s+exists\s+)?(?P<name>{_NAME})", re.IGNORECASE)
_DELETE = re.compile(
    rf"\s*delete\s+from\s+(?P<name>{_NAME})(?:\s+(?:as\s+)?(?!(?:where|using)\b)(?P<alias>{_IDENT}))?"
    r"(?:\s+where\s+(?P<cond>.*?))?\s*;?\s*$", re.IGNORECASE | re.DOTALL)

# portable types (base.create_table) Spark spells otherwise
_SPARK_TYPES = {"varchar": "string", "text": "string", "double precision": "double"}


def _unquote(part: str) -> str:
    if part.startswith('"'):
        return part[1:-1].replace('""', '"')
    if part.startswith("`"):
        return part[1:-1].replace("``", "`")
    return part.lower()  # Spark's catalog names are case-insensitive (stored lower case)


def table_name(text: str) -> str:
    """``schema.table`` as the catalog spells it, from a (quoted or bare) two-part name."""
    parts = [_unquote(p) for p in _PARTS.findall(text)]
    if len(parts) != 2:
        raise ValueError(f"expected a schema.table name, got {text!r}")
    return ".".join(parts)


def point_at(sql: str, tables: Mapping[str, str]) -> str:
    """``sql`` with every reference to a key of ``tables`` (``schema.table``, quoted or not,
    also as the prefix of ``schema.table.column``) replaced by its value, outside literals
    and comments."""
    if not tables:
        return sql

    def swap(m: re.Match) -> str:
        if m.group("name") is None:
            return m.group(0)
        texts = _PARTS.findall(m.group(0))
        if len(texts) < 2:
            return m.group(0)
        name = f"{_unquote(texts[0])}.{_unquote(texts[1])}"
        if name not in tables:
            return m.group(0)
        return ".".join([qualified(tables[name]), *texts[2:]])

    return _TOKENS.sub(swap, sql)


def first_keyword(sql: str) -> str:
    """The statement's first keyword, lower case ('' for none)."""
    m = _KEYWORD.match(sql)
    return m.group(1).lower() if m else ""


def insert_target(sql: str) -> str | None:
    """The table an ``INSERT INTO``/``INSERT OVERWRITE`` writes, or None."""
    m = _INSERT.match(sql)
    return table_name(m.group("name")) if m else None


def creates_view(sql: str) -> bool:
    """Whether ``sql`` creates a (persistent) view."""
    return _VIEW.match(sql) is not None


def dropped_table(sql: str) -> str | None:
    """The table a ``DROP TABLE`` drops, or None."""
    m = _DROP.match(sql)
    return table_name(m.group("name")) if m else None


@dataclass(frozen=True)
class Delete:
    table: str
    alias: str | None
    condition: str | None  # None: every row


def parse_delete(sql: str) -> Delete | None:
    """``DELETE FROM schema.table [alias] [WHERE condition]``, or None for another statement.
    Raises ValueError for a DELETE it cannot read (``USING``, ...)."""
    if first_keyword(sql) != "delete":
        return None
    m = _DELETE.match(sql)
    if m is None:
        raise ValueError(f"the Spark backend runs DELETE FROM table [alias] [WHERE ...] only: {sql!r}")
    return Delete(table_name(m.group("name")), m.group("alias"), m.group("cond"))


def spark_type(sql_type: str) -> str:
    """The Spark spelling of a portable column type (``varchar`` is ``string``, ...)."""
    return _SPARK_TYPES.get(sql_type.strip().lower(), sql_type)
