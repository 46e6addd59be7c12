"""Retract a loaded landing file: remove its rows from ``raw`` so a corrected file can replace it.

    python -m dagster_project.ingest.retract --table conversions \
        --file conversions/date=2025-01-03/conversions-2025-01-03.parquet \
        --actor alice@example.com --reason "orders of a client that does not exist"

(``make retract TABLE=... FILE=... ACTOR=... REASON=...``.) In one transaction: every row of
``raw.<table>`` and ``raw_quarantine.<table>`` whose source file is ``--file`` is deleted, the
file's records in ``ops.ingested_files`` become ``status = 'retracted'``, and an entry goes to
the audit log (``dagster_project.audit``; action ``retract_file``, object
``raw.<table>/<file>``, before and after: the rows, hashes and counts). On PostgreSQL the audit
log must exist, made by the roles command (``make pg-roles``): without it nothing is retracted. The file keeps its
record, so the same content (under any name) is not loaded again; a corrected file, with other
bytes, loads on the next ingest run, under the same name or another.

The incremental marts still hold the retracted rows (they only add what loads): run the next
build with a full refresh (``DbtBuildConfig.full_refresh``; README "A way out").
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from dagster_project.audit import record_audit
from dagster_project.contract import RAW_TABLES
from dagster_project.ingest.load import table_lock
from dagster_project.ingest.tables import INGESTED_FILES, RETRACTED, quarantine_table, raw_table
from dagster_project.warehouse import RAW_LOADS, Warehouse, WarehouseSession, qualified

ACTION = "retract_file"


@dataclass(frozen=True)
class Retraction:
    table: str
    file: str
    rows_deleted: int
    quarantine_rows_deleted: int
    sha256: tuple[str, ...]  # every loaded version of the file (a path rewritten and reloaded)


def retract_file(session: WarehouseSession, table_name: str, file_path: str, actor: str,
                 reason: str) -> Retraction:
    """Retract every loaded version of ``file_path`` (relative to the landing folder, as in
    ``ops.ingested_files``) from ``raw.<table_name>``; see the module docs. Raises ValueError
    naming the argument when the table is not a contract table, the actor or reason is empty,
    or no loaded file of the table has that path."""
    if table_name not in RAW_TABLES:
        raise ValueError(f"table {table_name!r} is not a landing-contract table")
    if not actor.strip() or not reason.strip():
        raise ValueError("actor and reason must not be empty: the audit log records both")
    session.lock(RAW_LOADS, shared=True)  # the order ingest takes them: no deadlock
    session.lock(table_lock(table_name))  # no load of this table interleaves
    loaded = session.read(
        f"select sha256, rows_loaded, rows_quarantined, loaded_at from {INGESTED_FILES} "
        "where table_name = ? and file_path = ? and status = 'loaded' order by loaded_at",
        [table_name, file_path])
    if not loaded.height:
        raise ValueError(f"file {file_path!r} has no loaded record for table {table_name} "
                         f"(see {INGESTED_FILES}.file_path)")
    raw, quarantine = qualified(raw_table(table_name)), qualified(quarantine_table(table_name))
    n_raw = session.scalar(f"select count(*) from {raw} where _source_file = ?", [file_path])
    n_quarantine = session.scalar(
        f"select count(*) from {quarantine} where source_file = ?", [file_path])
    session.execute(f"delete from {raw} where _source_file = ?", [file_path])
    session.execute(f"delete from {quarantine} where source_file = ?", [file_path])
    session.execute(
        f"update {INGESTED_FILES} set status = '{RETRACTED}' "
        "where table_name = ? and file_path = ? and status = 'loaded'", [table_name, file_path])
    versions = loaded.select("sha256", "rows_loaded", "rows_quarantined", "loaded_at").to_dicts()
    record_audit(session, actor, ACTION, f"raw.{table_name}/{file_path}",
                 {"status": "loaded", "versions": versions, "raw_rows": int(n_raw),
                  "quarantine_rows": int(n_quarantine)},
                 {"status": RETRACTED, "reason": reason, "raw_rows": 0, "quarantine_rows": 0})
    return Retraction(table_name, file_path, int(n_raw), int(n_quarantine),
                      tuple(loaded["sha256"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, choices=RAW_TABLES)
    parser.add_argument("--file", required=True,
                        help="path relative to the landing folder, as in ops.ingested_files")
    parser.add_argument("--actor", required=True, help="who retracts (recorded in the audit log)")
    parser.add_argument("--reason", required=True, help="why (recorded in the audit log)")
    args = parser.parse_args(argv)
    from dagster_project.settings import get_settings

    try:
        with Warehouse.from_settings(get_settings()).session() as session:
            done = retract_file(session, args.table, args.file, args.actor, args.reason)
    except (ValueError, RuntimeError) as exc:  # RuntimeError: no protected audit log (PostgreSQL)
        print(f"nothing retracted: {exc}", file=sys.stderr)
        return 2
    print(f"retracted {done.rows_deleted} rows of raw.{done.table} and "
          f"{done.quarantine_rows_deleted} quarantined rows from {done.file} "
          f"(audit action {ACTION}).\nThe marts still hold them: run the next build with a full "
          "refresh (launchpad: ops: {dbt_models: {config: {full_refresh: true}}, "
          "dbt_reporting_models: {config: {full_refresh: true}}}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
