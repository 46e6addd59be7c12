"""Pending rejected files of a raw table, and the alert events they raise.

``ops.rejected_files`` holds, per table, the files the latest run rejected: exactly those still
pending. Each (file, content) raises one event in ``analytics.alert_events``: its time is when
that content was first rejected, so the event id (a hash of source, entity, title and time) is
the same on every run that retries it, and the upsert never repeats it.
"""

from __future__ import annotations

import polars as pl

from dagster_project.alert_events import alert_event
from dagster_project.ingest.tables import REJECTED_FILES
from dagster_project.warehouse import WarehouseSession

SOURCE = "ingest"


def pending_rejections(session: WarehouseSession, table_name: str) -> pl.DataFrame:
    """file_path, sha256, size_bytes, reason, rejected_at, first_rejected_at, by file_path."""
    return session.read(
        "select file_path, sha256, size_bytes, reason, rejected_at, first_rejected_at "
        f"from {REJECTED_FILES} where table_name = ? order by file_path", [table_name])


def rejection_alerts(table_name: str, pending: pl.DataFrame) -> list[dict]:
    """One critical alert event per pending rejected file (see the module docs)."""
    return [
        alert_event(first, SOURCE, "critical", f"raw.{table_name}/{path}",
                    f"Rejected landing file {path}",
                    {"table": table_name, "file": path, "reason": reason, "sha256": sha,
                     "size_bytes": size})
        for path, sha, size, reason, first in pending.select(
            "file_path", "sha256", "size_bytes", "reason", "first_rejected_at").iter_rows()
    ]
