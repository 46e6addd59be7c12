"""Load new landing files of one raw table into ``raw.<table>`` in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from dagster_project.contract import TableContract, table
from dagster_project.ingest.files import LandingFile, discover_files, new_files
from dagster_project.ingest.read import SOURCE_FILE, UnreadableFile, read_file
from dagster_project.ingest.tables import (
    INGESTED_FILES,
    ensure_tables,
    quarantine_table,
    raw_table,
    record_files,
)
from dagster_project.ingest.validate import validate_batch
from dagster_project.warehouse import RAW_LOADS, WarehouseSession, qualified


@dataclass(frozen=True)
class FileReport:
    file: str  # relative to the landing dir
    sha256: str
    size: int
    modified_ns: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rules: dict[str, int] = field(default_factory=dict)  # quarantined rows by first rule


@dataclass(frozen=True)
class IngestReport:
    table: str
    files: list[FileReport]  # loaded in this run
    duplicates: list[tuple[str, str]]  # (file, the earlier file with the same content)
    rejected: list[tuple[str, str]]  # (file, reason): unreadable, retried on the next run
    raw_row_count: int

    rows_read = property(lambda self: sum(f.rows_read for f in self.files))
    rows_loaded = property(lambda self: sum(f.rows_loaded for f in self.files))
    rows_quarantined = property(lambda self: sum(f.rows_quarantined for f in self.files))


def _existing_keys(session: WarehouseSession, contract: TableContract, keys: pl.DataFrame):
    """Those of ``keys`` (distinct) already present in ``raw.<table>``, joined in the warehouse.

    When the key holds the table's event-time column, only raw rows in the candidates' time
    range can match: the scan is restricted to it (DuckDB skips the other row groups by their
    min/max), so the cost follows the batch, not the history."""
    target = raw_table(contract.name)
    if session.scalar(f"select 1 from {qualified(target)} limit 1") is None:
        return keys.clear()
    scratch = session.temp_table(f"_ingest_keys_{contract.name}", keys)
    on = " and ".join(f'k."{c}" = r."{c}"' for c in contract.key)
    cols = ", ".join(f'k."{c}"' for c in contract.key)
    where, params = "", None
    if contract.partition_by in contract.key:
        where = f' where r."{contract.partition_by}" between ? and ?'
        params = [keys[contract.partition_by].min(), keys[contract.partition_by].max()]
    found = session.read(
        f"select distinct {cols} from {scratch} k join {qualified(target)} r on {on}{where}", params
    )
    session.execute(f"drop table {scratch}")
    return found.cast(dict(keys.schema))


def _file_reports(
    files: list[LandingFile], valid: pl.DataFrame, quarantine: pl.DataFrame, read: dict[str, int]
) -> list[FileReport]:
    loaded = dict(valid.group_by(SOURCE_FILE).len().iter_rows())
    rules: dict[str, dict[str, int]] = {}
    for file, rule, n in quarantine.group_by("source_file", "rule").len().sort("len").iter_rows():
        rules.setdefault(file, {})[rule] = n
    reports = []
    for f in files:
        by_rule = dict(sorted(rules.get(f.rel_path, {}).items(), key=lambda kv: -kv[1]))
        report = FileReport(
            f.rel_path,
            f.sha256,
            f.size,
            f.modified_ns,
            read[f.rel_path],
            loaded.get(f.rel_path, 0),
            sum(by_rule.values()),
            by_rule,
        )
        if report.rows_read != report.rows_loaded + report.rows_quarantined:
            raise RuntimeError(
                f"ingest invariant broken for {f.rel_path}: rows_read "
                f"{report.rows_read} != loaded {report.rows_loaded} + "
                f"quarantined {report.rows_quarantined}"
            )
        reports.append(report)
    return reports


BATCH_ROWS = 1_000_000  # rows validated and written at a time: bounds memory on big deliveries


def _readable_chunks(
    files: list[LandingFile], contract: TableContract, rejected: list[tuple[LandingFile, str]]
) -> Iterator[list[tuple[LandingFile, pl.DataFrame]]]:
    """Read ``files`` in order, yielding groups of about ``BATCH_ROWS`` rows.

    Unreadable files are appended to ``rejected`` and skipped.
    """
    chunk, rows = [], 0
    for f in files:
        try:
            frame = read_file(f.path, contract)
        except UnreadableFile as exc:
            rejected.append((f, exc.reason))
            continue
        chunk.append((f, frame.with_columns(pl.lit(f.rel_path).alias(SOURCE_FILE))))
        rows += frame.height
        if rows >= BATCH_ROWS:
            yield chunk
            chunk, rows = [], 0
    if chunk:
        yield chunk


def _load_chunk(
    session: WarehouseSession,
    contract: TableContract,
    chunk: list[tuple[LandingFile, pl.DataFrame]],
    now: datetime,
) -> list[FileReport]:
    """Validate one chunk and append its valid and quarantined rows.

    Keys repeated across chunks are caught by the check against ``raw``, which already holds the
    earlier chunks' rows in this transaction.
    """
    frames = [frame for _, frame in chunk]
    result = validate_batch(frames, contract, now, lambda k: _existing_keys(session, contract, k))
    if result.valid.height:
        session.write(
            raw_table(contract.name),
            result.valid.with_columns(
                pl.col(SOURCE_FILE).cast(pl.Categorical),  # one path per file: sent once
                pl.lit(now, pl.Datetime("us")).alias("_loaded_at"),
            ),
            mode="append",
        )
    if result.quarantine.height:
        session.write(quarantine_table(contract.name), result.quarantine, mode="append")
    rows_read = {f.rel_path: frame.height for f, frame in chunk}
    return _file_reports([f for f, _ in chunk], result.valid, result.quarantine, rows_read)


def table_lock(table_name: str) -> str:
    """The lock one table's loads hold exclusively: two runs never load a table at once."""
    return f"{RAW_LOADS}:{table_name}"


def ingest_table(
    session: WarehouseSession, table_name: str, landing_dir: str | Path, now: datetime | None = None
) -> IngestReport:
    """Load the new files under ``<landing_dir>/<table_name>/`` (see module docs of ingest).

    Skips files already recorded in ``ops.ingested_files`` (same path and sha256; retracted
    ones too: retracted content is never loaded again) and content already delivered under
    another name (recorded as ``status='duplicate'``). Unreadable and refused files go to the
    report and ``ops.rejected_files`` (which then holds exactly this run's rejections for the
    table: what is still pending) and are retried next run; the others still load. Every row
    read is either loaded into ``raw`` or quarantined: never dropped.

    Locks, held until the transaction ends: ``raw_loads`` shared (a dbt build never reads raw
    while this load is open), then the table's own lock exclusively (:func:`table_lock`): a
    second run loading the same table waits, then finds these files recorded. On PostgreSQL
    ``raw.<table>`` also has a unique index on the contract's key.
    """
    session.lock(RAW_LOADS, shared=True)
    session.lock(table_lock(table_name))  # after raw_loads, the order every loader takes them
    now = now or session.clock()  # after the locks: loads stamp _loaded_at in commit order
    contract = table(table_name)
    ensure_tables(session, contract)
    recorded = session.read(
        f"select file_path, sha256, size_bytes, modified_ns from {INGESTED_FILES} "
        "where table_name = ?", [table_name]
    )
    seen_sha = dict(zip(recorded["sha256"], recorded["file_path"]))
    known = {(p, s, m): sha for p, sha, s, m in recorded.iter_rows() if m is not None}
    found, rejected = discover_files(Path(landing_dir), table_name, known)
    candidates = new_files(found, set(zip(recorded["file_path"], recorded["sha256"])))
    to_read, duplicates = [], []
    for f in candidates:
        if f.sha256 in seen_sha:
            duplicates.append((f, seen_sha[f.sha256]))
        else:
            seen_sha[f.sha256] = f.rel_path
            to_read.append(f)

    reports: list[FileReport] = []
    for chunk in _readable_chunks(to_read, contract, rejected):
        reports += _load_chunk(session, contract, chunk, now)
    # a copy of an unreadable file is just as unreadable: reject it too, so it is retried
    unreadable = {f.rel_path: reason for f, reason in rejected}
    rejected += [(f, unreadable[first]) for f, first in duplicates if first in unreadable]
    duplicates = [(f, first) for f, first in duplicates if first not in unreadable]
    record_files(session, table_name, now, reports, duplicates, rejected)
    count = session.scalar(f"select count(*) from {qualified(raw_table(table_name))}")
    return IngestReport(
        table_name,
        reports,
        [(f.rel_path, d) for f, d in duplicates],
        [(f.rel_path, r) for f, r in rejected],
        int(count),
    )
