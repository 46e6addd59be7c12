"""Expectation-suite checks over each raw table (suites derived from the landing contract).

Per table, one multi-asset check runs the Great Expectations suite once and reports two checks:
- ``<table>_keys`` (blocking): key uniqueness and not-null keys; downstream dbt models must not
  build on duplicated keys;
- ``<table>_expectations`` (warning, non-blocking): column presence, not-null required columns,
  allowed values, bounds. Ingestion quarantines such rows, so a failure here means rows
  reached raw by another path (e.g. an EL tool loading raw directly).
"""

import dagster as dg

from dagster_project.contract import RAW_TABLES, table
from dagster_project.ingest.expectations import SuiteResult, validate_frame
from dagster_project.warehouse import Warehouse, qualified


def _outcomes_markdown(result: SuiteResult, key_constraint: bool) -> str:
    lines = ["| expectation | columns | ok | unexpected | sample |", "|---|---|---|---:|---|"]
    for o in result.outcomes:
        if o.key_constraint == key_constraint:
            lines.append(
                f"| {o.expectation} | {', '.join(o.columns)} | {'yes' if o.success else 'NO'}"
                f" | {o.unexpected_count if o.unexpected_count is not None else '-'} "
                f"| {'; '.join(o.sample)[:120]} |"
            )
    return "\n".join(lines)


def build_ingest_checks(table_name: str) -> dg.AssetChecksDefinition:
    contract = table(table_name)
    asset_key = dg.AssetKey(["raw", table_name])
    specs = [
        dg.AssetCheckSpec(
            f"{table_name}_keys",
            asset=asset_key,
            blocking=True,
            description=f"Key ({', '.join(contract.key)}) unique and not null.",
        ),
        dg.AssetCheckSpec(
            f"{table_name}_expectations",
            asset=asset_key,
            description="Columns, not-null, allowed values and bounds of the landing contract.",
        ),
    ]

    @dg.multi_asset_check(specs=specs, name=f"{table_name}_suite")
    def _checks(warehouse: Warehouse):
        with warehouse.session() as session:
            if session.table_exists(f"raw.{table_name}"):
                cols = ", ".join(f'"{c}"' for c in contract.column_names)
                df = session.read(f"select {cols} from {qualified(f'raw.{table_name}')}")
            else:
                df = contract.empty_frame()
        result = validate_frame(df, contract)
        for spec, is_key in zip(specs, (True, False)):
            ok = result.keys_ok if is_key else result.others_ok
            failed = [o for o in result.outcomes if o.key_constraint == is_key and not o.success]
            yield dg.AssetCheckResult(
                check_name=spec.name,
                asset_key=asset_key,
                passed=ok,
                severity=dg.AssetCheckSeverity.ERROR if is_key else dg.AssetCheckSeverity.WARN,
                metadata={
                    "rows_checked": df.height,
                    "failed_expectations": len(failed),
                    "results": dg.MetadataValue.md(_outcomes_markdown(result, is_key)),
                },
            )

    return _checks


ingest_checks = [build_ingest_checks(t) for t in RAW_TABLES]
