"""Checks over each raw table, derived from the landing contract.

Per table, one multi-asset check reports two checks:
- ``<table>_keys`` (blocking): key unique and not null over the WHOLE table, counted in the
  warehouse (``ingest.batch_checks.check_keys``); downstream dbt models must not build on
  duplicated keys;
- ``<table>_expectations`` (warning, non-blocking): the Great Expectations suite (column
  presence, not-null required columns, allowed values, bounds, key unique within the batch) over
  the rows of the LATEST load (``latest_batch``): earlier loads were checked when they landed.
  Ingestion quarantines such rows, so a failure here means rows reached raw by another path
  (e.g. an EL tool loading raw directly).

The third check of each table, ``<table>_files`` (files pending rejection), is reported by the
ingest asset itself (``assets.py``): it knows what the run rejected.
"""

import dagster as dg

from dagster_project.contract import RAW_TABLES, table
from dagster_project.ingest.batch_checks import KeyReport, check_keys, latest_batch
from dagster_project.ingest.expectations import SuiteResult, combine, validate_frame
from dagster_project.warehouse import Warehouse


def _outcomes_markdown(result: SuiteResult) -> str:
    lines = ["| expectation | columns | ok | unexpected | sample |", "|---|---|---|---:|---|"]
    for o in result.outcomes:
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
            description=f"Key ({', '.join(contract.key)}) unique and not null over the whole "
            "table (counted in the warehouse).",
        ),
        dg.AssetCheckSpec(
            f"{table_name}_expectations",
            asset=asset_key,
            description="Columns, not-null, allowed values and bounds of the landing contract, "
            "over the rows of the latest load.",
        ),
    ]

    @dg.multi_asset_check(specs=specs, name=f"{table_name}_suite")
    def _checks(warehouse: Warehouse):
        with warehouse.session() as session:
            if session.table_exists(f"raw.{table_name}"):
                keys = check_keys(session, contract)
                loaded_at, chunks = latest_batch(session, contract)
                suites = [(validate_frame(chunk, contract), chunk.height) for chunk in chunks]
            else:
                keys, loaded_at = KeyReport(0, 0, 0, ()), None
                suites = [(validate_frame(contract.empty_frame(), contract), 0)]
        yield dg.AssetCheckResult(
            check_name=specs[0].name, asset_key=asset_key, passed=keys.ok,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows_checked": keys.rows, "duplicate_keys": keys.duplicate_keys,
                      "null_keys": keys.null_keys,
                      "duplicated_key_sample": "; ".join(keys.sample) or "none"})
        result = combine([r for r, _ in suites])
        failed = [o for o in result.outcomes if not o.success]
        yield dg.AssetCheckResult(
            check_name=specs[1].name, asset_key=asset_key, passed=result.success,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows_checked": sum(n for _, n in suites),
                      "batch_loaded_at": str(loaded_at) if loaded_at else "no rows yet",
                      "failed_expectations": len(failed),
                      "results": dg.MetadataValue.md(_outcomes_markdown(result))})

    return _checks


ingest_checks = [build_ingest_checks(t) for t in RAW_TABLES]
