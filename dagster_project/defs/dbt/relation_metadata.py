"""Row counts, column schemas and previews of the relations a dbt run built, read through the
Warehouse.

Read once dbt has exited, in one warehouse session, so the queries follow the warehouse the
pipeline writes to (DuckDB file or PostgreSQL) whatever target the manifest was parsed with, and
never wait for the dbt process to release a DuckDB file. Views get their columns but no row count
(counting would run the view's query); which relations are views is read from the warehouse's
catalog, not from the manifest, which may predate a change of materialization.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from dagster_project.metadata import preview_metadata
from dagster_project.warehouse import Warehouse, qualified

TABLE_NAME = "dagster/table_name"


@dataclass(frozen=True)
class Relation:
    unique_id: str
    schema: str
    name: str
    descriptions: Mapping[str, str]

    @property
    def table(self) -> str:
        """``schema.name``: no database, which is the run's (the DuckDB file, ``BI_PG_DB``)."""
        return f"{self.schema}.{self.name}"


def relation_of(manifest: Mapping[str, Any], unique_id: str) -> Relation | None:
    node = manifest["nodes"].get(unique_id)
    if node is None or node["resource_type"] not in ("model", "seed", "snapshot"):
        return None
    return Relation(
        unique_id, node["schema"], node.get("alias") or node["name"],
        {c: v.get("description") or "" for c, v in node.get("columns", {}).items()})


def relation_metadata(warehouse: Warehouse, relations: list[Relation]) -> dict[str, dict]:
    """``unique_id`` -> ``dagster/table_name``, ``dagster/column_schema``, a ``preview`` of the
    first rows and, for tables, ``dagster/row_count``: two queries for all relations' columns and
    counts, one per relation for its preview (a view's runs its query with a limit)."""
    if not relations:
        return {}
    placeholders = ", ".join("(?, ?)" for _ in relations)
    params = [v for r in relations for v in (r.schema, r.name)]
    with warehouse.session() as s:
        columns = s.read(
            "select c.table_schema, c.table_name, c.column_name, c.data_type, t.table_type "
            "from information_schema.columns c join information_schema.tables t "
            "on t.table_schema = c.table_schema and t.table_name = c.table_name "
            f"where (c.table_schema, c.table_name) in ({placeholders}) "
            "order by c.table_schema, c.table_name, c.ordinal_position", params)
        tables = set(columns.filter(columns["table_type"] == "BASE TABLE")
                     .select("table_schema", "table_name").iter_rows())
        counted = [r for r in relations if (r.schema, r.name) in tables]
        counts = s.read(" union all ".join(
            f"select {i} as i, count(*) as n from {qualified(r.table)}"
            for i, r in enumerate(counted))) if counted else None
        built = {(schema, name) for schema, name, *_ in columns.iter_rows()}
        previews = {r.unique_id: preview_metadata(s, r.table) for r in relations
                    if (r.schema, r.name) in built}
    rows = dict(zip(counts["i"], counts["n"])) if counts is not None else {}
    by_table: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, name, column, dtype, _ in columns.iter_rows():
        by_table.setdefault((schema, name), []).append((column, dtype))
    out = {}
    for r in relations:
        schema = dg.TableSchema(columns=[
            dg.TableColumn(c, t, description=r.descriptions.get(c) or None)
            for c, t in by_table.get((r.schema, r.name), [])])
        out[r.unique_id] = {TABLE_NAME: r.table, "dagster/column_schema": schema}
        if r.unique_id in previews:
            out[r.unique_id]["preview"] = previews[r.unique_id]
    for i, r in enumerate(counted):
        if i in rows:
            out[r.unique_id]["dagster/row_count"] = int(rows[i])
    return out
