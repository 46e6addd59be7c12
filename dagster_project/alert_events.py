"""``analytics.alert_events``: the one table every alert source appends to and the alerting work
delivers from. Schema: event_id (deterministic, so a re-run never duplicates an event),
occurred_at, source, severity (info | warning | critical), entity, title, details (JSON text)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import polars as pl

from dagster_project.warehouse import WarehouseSession

TABLE = "analytics.alert_events"
COLUMNS = (("event_id", "varchar"), ("occurred_at", "timestamp"), ("source", "varchar"),
           ("severity", "varchar"), ("entity", "varchar"), ("title", "varchar"),
           ("details", "varchar"))


def alert_event(occurred_at: dt.datetime, source: str, severity: str, entity: str, title: str,
                details: dict) -> dict:
    key = f"{source}|{entity}|{title}|{occurred_at.isoformat()}"
    return {"event_id": hashlib.sha1(key.encode()).hexdigest()[:20], "occurred_at": occurred_at,
            "source": source, "severity": severity, "entity": entity, "title": title,
            "details": json.dumps(details, default=str, sort_keys=True)}


def write_alert_events(session: WarehouseSession, events: list[dict]) -> int:
    """Create the table if needed and upsert ``events`` by event_id; returns rows written."""
    session.create_table(TABLE, COLUMNS)
    if not events:
        return 0
    df = pl.DataFrame(events, schema={"event_id": pl.String, "occurred_at": pl.Datetime("us"),
                                      "source": pl.String, "severity": pl.String,
                                      "entity": pl.String, "title": pl.String,
                                      "details": pl.String})
    return session.write(TABLE, df, mode="upsert", key=["event_id"])
