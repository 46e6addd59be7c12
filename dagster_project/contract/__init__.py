"""The landing contract: typed view of ``raw_tables.yml``.

Every raw table's columns, types, nullability, keys, allowed values and descriptions live in
``raw_tables.yml`` next to this file. The simulator writes frames with :func:`polars_schema`,
the ingest validation checks rows against :class:`TableContract`, the expectation suites are
derived from it, and ``python -m dagster_project.contract`` renders the dbt sources file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

CONTRACT_FILE = Path(__file__).with_name("raw_tables.yml")
EARLIEST_VALID_TIME = "2000-01-01"  # no timestamp or date before it (inclusive lower bound)
LATEST_PLANNED_TIME = "2100-01-01"  # planned times (outside ``checked_times``) lie before it

POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
    "bool": pl.Boolean(),
    "timestamp": pl.Datetime("us"),
    "date": pl.Date(),
}
SQL_TYPES: dict[str, str] = {
    "string": "varchar",
    "int64": "bigint",
    "float64": "double precision",
    "bool": "boolean",
    "timestamp": "timestamp",
    "date": "date",
}


@dataclass(frozen=True)
class ColumnContract:
    name: str
    type: str
    description: str
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None

    @property
    def polars_type(self) -> pl.DataType:
        return POLARS_TYPES[self.type]

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def is_temporal(self) -> bool:
        return self.type in ("timestamp", "date")


@dataclass(frozen=True)
class TableContract:
    name: str
    description: str
    key: tuple[str, ...]
    partition_by: str
    columns: tuple[ColumnContract, ...]
    checked_times: tuple[str, ...] = ()  # observed times: not after the load time

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnContract:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def required_columns(self) -> list[str]:
        """Columns that may never be null: non-nullable ones and the key."""
        return [c.name for c in self.columns if not c.nullable or c.name in self.key]

    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.polars_type for c in self.columns})

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema())


@functools.cache
def load_contract(path: Path = CONTRACT_FILE) -> dict[str, TableContract]:
    """All raw tables of the landing contract, by name, in file order."""
    spec = yaml.safe_load(path.read_text())
    tables: dict[str, TableContract] = {}
    for table_name, t in spec["tables"].items():
        columns = tuple(
            ColumnContract(
                name=col_name,
                type=c["type"],
                description=c["description"],
                nullable=bool(c.get("nullable", False)),
                allowed=tuple(c["allowed"]) if "allowed" in c else None,
                min=c.get("min"),
                max=c.get("max"),
            )
            for col_name, c in t["columns"].items()
        )
        tables[table_name] = TableContract(
            name=table_name,
            description=t["description"],
            key=tuple(t["key"]),
            partition_by=t["partition_by"],
            columns=columns,
            checked_times=tuple(t["checked_times"]),
        )
    return tables


def table(name: str) -> TableContract:
    return load_contract()[name]


@functools.cache
def vocabulary(name: str) -> tuple[str, ...]:
    """A named list of allowed values (platform, tier, channel, ...)."""
    return tuple(yaml.safe_load(CONTRACT_FILE.read_text())["vocabularies"][name])


RAW_TABLES: tuple[str, ...] = tuple(load_contract())
