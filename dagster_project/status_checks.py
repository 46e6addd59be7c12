"""The status contract as an asset check: rows of an analytics table whose status is ok carry
finite values in the checked columns, every other row has them null."""

import dagster as dg

from dagster_project.analytics.experiments.status import contract_breaches
from dagster_project.metadata import markdown_table
from dagster_project.warehouse import Warehouse


def status_contract_check(table: str, columns: list[str]) -> dg.AssetChecksDefinition:
    """``<table>_statuses_hold`` on ``analytics.<table>`` over ``columns``."""
    @dg.asset_check(asset=["analytics", table], name=f"{table}_statuses_hold",
                    description=f"Rows of analytics.{table} with status ok have finite "
                    f"{', '.join(columns)}; every other row has them null.")
    def check(warehouse: Warehouse) -> dg.AssetCheckResult:
        df = warehouse.read(f"select * from analytics.{table}")
        breaches = contract_breaches(df, columns)
        return dg.AssetCheckResult(passed=breaches.height == 0, metadata={
            "breaching_rows": breaches.height,
            "sample": dg.MetadataValue.md(markdown_table(breaches.head(5)))})

    return check
