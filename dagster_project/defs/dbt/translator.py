"""How dbt nodes become Dagster assets: keys by schema, groups by business domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from dagster_project.defs.dbt.check_descriptions import describe_test
from dagster_project.defs.dbt.relation_metadata import TABLE_NAME, relation_of
from dagster_project.domains import DOMAINS, PLUMBING, domain


def layer_and_domain(fqn: list[str]) -> tuple[str, str]:
    """``['bi_engine', 'marts', 'usage', 'fct_x']`` -> ``('marts', 'usage')``.

    Models take the folder below their layer as their business domain (``domains.DOMAINS``);
    staging models and shared plumbing outside a domain folder (e.g. ``intermediate/common``) sit
    in ``staging``.
    """
    layer = fqn[1] if len(fqn) > 2 else "models"
    folder = fqn[2] if len(fqn) >= 4 else PLUMBING
    return layer, folder if folder in DOMAINS else PLUMBING


class BiDbtTranslator(DagsterDbtTranslator):
    """Models keyed ``[schema, model]``; sources keep ``[raw, table]`` (the ingest assets).

    A model's ``dagster/table_name`` is ``schema.name``, as the ingest assets' and the run's
    materializations name it: dagster-dbt would prefix the database the manifest was parsed
    with (the DuckDB file's name, or the PostgreSQL database), which need not be the run's.
    """

    def __init__(self):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=False))

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([props["source_name"], props["name"]]))
        if props["resource_type"] not in ("model", "seed", "snapshot"):
            return spec
        layer, group = layer_and_domain(props["fqn"])
        schema = props.get("schema") or layer
        materialized = props.get("config", {}).get("materialized", "view")
        return spec.replace_attributes(
            key=dg.AssetKey([schema, props["name"]]),
            group_name=group,
            owners=domain(group).owners,
            metadata={**spec.metadata, TABLE_NAME: relation_of(manifest, unique_id).table},
        ).merge_attributes(kinds={"dbt", materialized}, tags={"layer": layer})

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetCheckSpec | None:
        """dagster-dbt's check, described in words (``check_descriptions``)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return dg.AssetCheckSpec(
            name=spec.name, asset=spec.asset_key, additional_deps=spec.additional_deps,
            metadata=spec.metadata, blocking=spec.blocking,
            description=describe_test(manifest["nodes"][unique_id]))
