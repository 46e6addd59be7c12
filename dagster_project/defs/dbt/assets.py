"""dbt models as assets; dbt tests become asset checks.

Two definitions over the one dbt project: the models up to the marts, and the BI-facing
reporting layer, which may read the analytics tables that Python assets build from the marts
(so the reporting models run in a later step than the marts).
"""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from pydantic import Field

from dagster_project.defs.dbt.cli_args import dbt_build_args
from dagster_project.defs.dbt.project import dbt_project, release_dbt_duckdb_handle
from dagster_project.defs.dbt.translator import BiDbtTranslator

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
    full_refresh: bool = Field(default=False, description="Rebuild incremental models from scratch.")


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    args = dbt_build_args(
        vars={
            "attribution_lookback_days": config.attribution_lookback_days,
            "attribution_half_life_days": config.attribution_half_life_days,
            "attribution_include_channels": config.attribution_include_channels,
            "attribution_exclude_channels": config.attribution_exclude_channels,
        },
        full_refresh=config.full_refresh,
    )
    try:
        yield from (
            dbt.cli(args, context=context).stream().fetch_row_counts().fetch_column_metadata()
        )
    finally:
        release_dbt_duckdb_handle()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=BiDbtTranslator(),
    exclude=REPORTING,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    """Build the staging, intermediate and mart models and run their tests."""
    yield from _build(context, dbt, config)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=BiDbtTranslator(),
    select=REPORTING,
    name="dbt_reporting_models",
)
def dbt_reporting_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
):
    """Build the reporting models (marts and analytics tables shaped for BI tools)."""
    yield from _build(context, dbt, config)
