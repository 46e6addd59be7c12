"""Which models a job must also build so that the dbt tests of the models it selects can pass.

A dbt test may read a second model: a ``relationships`` test of ``fct_marketing_spend_daily``
reads ``dim_clients``. dbt runs the test whenever its own model is built (eager indirect
selection), so a job that rebuilds the fact but not the dimension fails on every key the
dimension has not seen yet (a client who signed up since the last nightly run).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import dagster as dg

from dagster_project.defs.dbt.project import dbt_project
from dagster_project.defs.dbt.translator import BiDbtTranslator


def test_dependencies(groups: Iterable[str]) -> list[dg.AssetKey]:
    """The models read by the dbt tests of the models in ``groups``, other than the tested model."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    translator = BiDbtTranslator()
    wanted = set(groups)

    def spec(unique_id: str) -> dg.AssetSpec:
        return translator.get_asset_spec(manifest, unique_id, dbt_project)

    found: set[dg.AssetKey] = set()
    for node in manifest["nodes"].values():
        attached = node.get("attached_node")
        if node["resource_type"] != "test" or not attached or spec(attached).group_name not in wanted:
            continue
        found |= {spec(other).key for other in node["depends_on"]["nodes"]
                  if other != attached and other.startswith("model.")}
    return sorted(found, key=lambda k: k.to_user_string())
