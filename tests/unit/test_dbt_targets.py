"""One manifest and one parse state per dbt target; table names that do not depend on either."""

from __future__ import annotations

import json

import pytest

from dagster_project.defs.dbt import project
from dagster_project.defs.dbt.translator import BiDbtTranslator
from dagster_project.settings import DBT_PROJECT_DIR

# (unique_id, the table in the warehouse), written out by hand from the models' folders and names
MODELS = [
    ("model.bi_engine.fct_revenue_daily", "marts.fct_revenue_daily"),
    ("model.bi_engine.stg_raw__clients", "staging.stg_raw__clients"),
    ("model.bi_engine.int_as_of_date", "intermediate.int_as_of_date"),
    ("model.bi_engine.rpt_channel_attribution", "reporting.rpt_channel_attribution"),
]


@pytest.mark.parametrize("target", ["duckdb", "postgres", "spark"])
def test_each_target_has_its_own_manifest_and_table_names_carry_no_database(target):
    """``make prepare`` parses every target. dagster-dbt would prefix the database the manifest
    was parsed with (``warehouse.marts.fct_revenue_daily`` from a default DuckDB parse)."""
    path = DBT_PROJECT_DIR / project.target_path(target) / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["metadata"]["adapter_type"] == target
    translator = BiDbtTranslator()
    for unique_id, table in MODELS:
        spec = translator.get_asset_spec(manifest, unique_id, None)
        assert spec.metadata["dagster/table_name"] == table


def test_an_invocation_starts_from_and_returns_its_own_targets_parse_state(tmp_path, monkeypatch):
    monkeypatch.setattr(project, "DBT_PROJECT_DIR", tmp_path)
    for target in ("duckdb", "postgres"):
        (tmp_path / "target" / target).mkdir(parents=True)
        (tmp_path / "target" / target / project.PARTIAL_PARSE).write_bytes(target.encode())

    folder = project.invocation_path("postgres", "0123456789abcdef")
    assert folder.parent == tmp_path / "target" / "postgres"
    assert (folder / project.PARTIAL_PARSE).read_bytes() == b"postgres"

    (folder / project.PARTIAL_PARSE).write_bytes(b"postgres, re-parsed for this profile")
    project.keep_parse_state(folder)
    assert (tmp_path / "target" / "postgres" / project.PARTIAL_PARSE).read_bytes() == (
        b"postgres, re-parsed for this profile")
    assert (tmp_path / "target" / "duckdb" / project.PARTIAL_PARSE).read_bytes() == b"duckdb"
    assert sorted(p.name for p in (tmp_path / "target" / "postgres").iterdir()) == sorted(
        [project.PARTIAL_PARSE, folder.name])  # no temporary file left behind
