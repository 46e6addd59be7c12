"""Human-readable summaries of the contract rules and of an ingest run (markdown, plain text)."""

from __future__ import annotations

import polars as pl

from dagster_project.contract import EARLIEST_VALID_TIME, LATEST_PLANNED_TIME, TableContract
from dagster_project.ingest.load import IngestReport

MAX_FILE_ROWS = 50


def rules_summary(contract: TableContract) -> str:
    """One paragraph listing what ingestion checks for this table."""
    bounds = [
        f"{c.name} in [{c.min if c.min is not None else '-inf'}, "
        f"{c.max if c.max is not None else 'inf'}]"
        for c in contract.columns
        if c.min is not None or c.max is not None
    ]
    allowed = [c.name for c in contract.columns if c.allowed]
    temporal = [c.name for c in contract.columns if c.is_temporal]
    planned = [c for c in temporal if c not in contract.checked_times]
    parts = [
        "text trimmed, blank text counts as missing",
        f"key ({', '.join(contract.key)}) unique, also against rows already loaded",
        f"not null (nor blank): {', '.join(contract.required_columns)}",
        "every column castable to its contract type (integers: whole numbers only)",
    ]
    if bounds:
        parts.append("bounds: " + "; ".join(bounds))
    if allowed:
        parts.append("allowed values: " + ", ".join(allowed))
    if temporal:
        parts.append(
            f"time range: {', '.join(temporal)} from {EARLIEST_VALID_TIME}; "
            f"{', '.join(contract.checked_times)} not after the load time"
            + (f"; {', '.join(planned)} before {LATEST_PLANNED_TIME}" if planned else "")
        )
    return (
        "Rules (failing rows go to raw_quarantine." + contract.name + "): " + "; ".join(parts) + "."
    )


def files_markdown(report: IngestReport) -> str:
    """A markdown table: one line per file loaded in this run (first 50), then duplicates."""
    lines = ["| file | read | loaded | quarantined | top rules |", "|---|---:|---:|---:|---|"]
    for f in report.files[:MAX_FILE_ROWS]:
        rules = ", ".join(f"{rule} ({n})" for rule, n in list(f.rules.items())[:3]) or "-"
        lines.append(
            f"| {f.file} | {f.rows_read} | {f.rows_loaded} | {f.rows_quarantined} | {rules} |"
        )
    if len(report.files) > MAX_FILE_ROWS:
        lines.append(f"| ... {len(report.files) - MAX_FILE_ROWS} more files | | | | |")
    if not report.files:
        lines.append("| (no new files) | 0 | 0 | 0 | - |")
    for file, original in report.duplicates:
        lines.append(f"| {file} (duplicate of {original}, skipped) | 0 | 0 | 0 | - |")
    return "\n".join(lines)


def rejected_markdown(pending: pl.DataFrame) -> str:
    """The pending rejected files (``ingest.rejections.pending_rejections``), one line each."""
    if not pending.height:
        return "none"
    return "\n".join(f"- {file}: {reason} (since {first:%Y-%m-%d %H:%M} UTC)" for file, reason, first
                     in pending.select("file_path", "reason", "first_rejected_at").iter_rows())
