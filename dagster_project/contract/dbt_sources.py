"""Render the landing contract as the dbt sources file, so dbt and Python cannot drift apart.

The sources carry names, types, descriptions and the contract's rules as ``meta``; they carry no
dbt tests, because the raw tables are validated where they are loaded (ingest rules, quarantine
and the expectation-suite asset checks), and the staging models test their keys again.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from dagster_project.contract import TableContract, load_contract

SOURCES_FILE = Path(__file__).resolve().parents[2] / "dbt" / "models" / "staging" / "_sources.yml"
# what the loader adds to every raw row (ingest/read.py, ingest/load.py), after the contract's columns
LOAD_COLUMNS = (
    ("_source_file", "The landing file the row was read from, relative to the landing folder."),
    ("_source_row", "The row's position in that file, from 1."),
    ("_loaded_at", ("The warehouse clock when the load that appended the row took its locks: one "
                    "value per load, in the loads' commit order.")),
)
HEADER = (
    "# GENERATED from dagster_project/contract/raw_tables.yml by "
    "`python -m dagster_project.contract`. Do not edit by hand.\n"
)


def _table_entry(table: TableContract) -> dict:
    entry: dict = {
        "name": table.name,
        "description": table.description,
        "meta": {"key": list(table.key), "partition_by": table.partition_by},
        "columns": [],
    }
    for c in table.columns:
        col: dict = {"name": c.name, "data_type": c.sql_type, "description": c.description}
        if c.allowed is not None:
            col["meta"] = {"allowed": list(c.allowed)}
        if not c.nullable or c.name in table.key:
            col.setdefault("meta", {})["nullable"] = False
        entry["columns"].append(col)
    entry["columns"] += [{"name": name, "description": text, "meta": {"nullable": False}}
                         for name, text in LOAD_COLUMNS]
    return entry


def render_sources_yml() -> str:
    """The dbt sources YAML for every raw table, as text."""
    doc = {
        "version": 2,
        "sources": [
            {
                "name": "raw",
                "schema": "raw",
                "description": "Raw tables loaded by the ingest assets; one per landing-contract table.",
                "tables": [_table_entry(t) for t in load_contract().values()],
            }
        ],
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, width=120)


def write_sources_yml(path: Path = SOURCES_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_sources_yml())
    return path
