"""Human-readable summaries of the contract rules and of an ingest run (markdown, plain text)."""

from __future__ import annotations

from dagster_project.contract import TableContract
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
    parts = [
        f"key ({', '.join(contract.key)}) unique, also against rows already loaded",
        f"not null: {', '.join(contract.required_columns)}",
        "every column castable to its contract type",
    ]
    if bounds:
        parts.append("bounds: " + "; ".join(bounds))
    if allowed:
        parts.append("allowed values: " + ", ".join(allowed))
    if temporal:
        parts.append(
            f"time range: {', '.join(temporal)} from 2000-01-01, "
            f"{contract.partition_by} not after the load time"
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


def rejected_text(report: IngestReport) -> str:
    return "\n".join(f"- {file}: {reason}" for file, reason in report.rejected)
