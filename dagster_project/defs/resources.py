"""Resources, built once from settings: the warehouse and the dbt CLI."""

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project.defs.dbt.project import dbt_executable, dbt_project
from dagster_project.settings import export_dbt_environment, get_settings
from dagster_project.warehouse import Warehouse


@dg.definitions
def resources() -> dg.Definitions:
    settings = get_settings()
    export_dbt_environment(settings)
    return dg.Definitions(
        resources={
            "warehouse": Warehouse.from_settings(settings),
            # the target is passed explicitly: dbt_project's was fixed when it was imported
            "dbt": DbtCliResource(
                project_dir=dbt_project,
                dbt_executable=dbt_executable(),
                target=settings.dbt_target,
            ),
        }
    )
