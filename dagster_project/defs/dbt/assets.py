"""dbt models as assets; dbt tests become asset checks.

Two definitions over the one dbt project: the models up to the marts, and the BI-facing
reporting layer, which may read the analytics tables that Python assets build from the marts
(so the reporting models run in a later step than the marts).
"""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from pydantic import Field

from dagster_project.defs.dbt.cli_args import dbt_build_args
from dagster_project.defs.dbt.project import dbt_project, invocation_path, keep_parse_state
from dagster_project.defs.dbt.relation_metadata import relation_metadata, relation_of
from dagster_project.defs.dbt.translator import BiDbtTranslator
from dagster_project.settings import get_settings
from dagster_project.warehouse import Warehouse

REPORTING = "path:models/reporting"


class DbtBuildConfig(dg.Config):
    """What an analyst may change when building the dbt models."""

    attribution_lookback_days: int | None = Field(
        default=None,
        description="Days of touches before a conversion that belong to its journey "
        "(dbt var attribution_lookback_days; the project default is 30).",
    )
    attribution_half_life_days: float | None = Field(
        default=None,
        description="Half-life in days of the time-decay attribution model "
        "(dbt var attribution_half_life_days; the project default is 7).",
    )
    attribution_include_channels: list[str] | None = Field(
        default=None,
        description="Only these channels take part in attribution (dbt var; default: all).",
    )
    attribution_exclude_channels: list[str] | None = Field(
        default=None,
        description="Channels left out of attribution (dbt var; default: none).",
    )
    full_refresh: bool = Field(
        default=False, description="Rebuild the incremental models from scratch (they otherwise "
        "recompute only the hours, days, posts and customers that newly loaded rows touch).")
    test_window_hours: int | None = Field(
        default=None, description="Test only the rows written or loaded in the last N hours "
        "(dbt var test_window_hours; the hourly job sets 6); empty: every row.")
    unit_tests: bool = Field(
        default=True, description="Run the dbt unit tests (checks of the models' SQL on fixed "
        "rows; the hourly job skips them).")


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig,
           warehouse: Warehouse):
    """Run ``dbt build``; the models' row counts and column schemas are read through the
    warehouse once dbt has exited (``relation_metadata``) and attached to their outputs."""
    args = dbt_build_args(
        vars={
            "attribution_lookback_days": config.attribution_lookback_days,
            "attribution_half_life_days": config.attribution_half_life_days,
            "attribution_include_channels": config.attribution_include_channels,
            "attribution_exclude_channels": config.attribution_exclude_channels,
            "test_window_hours": config.test_window_hours,
        },
        full_refresh=config.full_refresh,
        unit_tests=config.unit_tests,
    )
    built: list[dg.Output | dg.AssetMaterialization] = []
    failure = None
    folder = invocation_path(get_settings().dbt_target, context.run_id)
    with warehouse.build_lock():  # incremental marts compare _loaded_at with what they saw
        invocation = dbt.cli(args, context=context, target_path=folder)
        try:
            for event in invocation.stream():
                if isinstance(event, dg.Output | dg.AssetMaterialization):
                    built.append(event)
                else:
                    yield event
        except DagsterDbtCliRuntimeError as exc:  # a failed model or test: report what built
            failure = exc
    keep_parse_state(folder)
    manifest = invocation.manifest
    relations = {e.metadata["unique_id"].value: relation_of(manifest, e.metadata["unique_id"].value)
                 for e in built if "unique_id" in e.metadata}
    found = relation_metadata(warehouse, [r for r in relations.values() if r is not None])
    for event in built:
        uid = event.metadata["unique_id"].value if "unique_id" in event.metadata else None
        yield event.with_metadata({**event.metadata, **found.get(uid, {})})
    if failure is not None:
        raise failure


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=BiDbtTranslator(),
    exclude=REPORTING,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig,
               warehouse: Warehouse):
    """Build the staging, intermediate and mart models and run their tests."""
    yield from _build(context, dbt, config, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=BiDbtTranslator(),
    select=REPORTING,
    name="dbt_reporting_models",
)
def dbt_reporting_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig,
    warehouse: Warehouse,
):
    """Build the reporting models (marts and analytics tables shaped for BI tools)."""
    yield from _build(context, dbt, config, warehouse)
