"""Alerting activity per day and rule: what the lifecycle decided and what delivery achieved.

One row per day (of the occurrences' event time) and rule: ``occurrences``; by decision
``sent`` (new, repeat, escalated), ``escalated``, ``cooldown``, ``acknowledged``, ``muted``;
and the notifications of those occurrences by state: ``notifications``, ``delivered``,
``pending``, ``dead_letter``. Counts, so a day without activity has no row.
"""

from __future__ import annotations

import polars as pl

from dagster_project.notify.lifecycle import SENT

ACTIVITY_SCHEMA = {
    "day": pl.Date, "rule": pl.String, "occurrences": pl.Int64, "sent": pl.Int64,
    "escalated": pl.Int64, "cooldown": pl.Int64, "acknowledged": pl.Int64, "muted": pl.Int64,
    "notifications": pl.Int64, "delivered": pl.Int64, "pending": pl.Int64,
    "dead_letter": pl.Int64,
}


def alert_activity(decisions: pl.DataFrame, notifications: pl.DataFrame) -> pl.DataFrame:
    """``decisions`` (rule, occurred_at, decision) and ``notifications`` (rule, occurred_at,
    status) counted per day and rule (ACTIVITY_SCHEMA), sorted by day and rule."""
    day = pl.col("occurred_at").dt.date().alias("day")
    made = decisions.group_by(day, "rule").agg(
        occurrences=pl.len(), sent=pl.col("decision").is_in(SENT).sum(),
        **{d: (pl.col("decision") == d).sum()
           for d in ("escalated", "cooldown", "acknowledged", "muted")})
    sent = notifications.group_by(day, "rule").agg(
        notifications=pl.len(),
        **{s: (pl.col("status") == s).sum() for s in ("delivered", "pending", "dead_letter")})
    return (made.join(sent, on=["day", "rule"], how="left")
            .with_columns(pl.col("notifications", "delivered", "pending", "dead_letter")
                          .fill_null(0))
            .select(list(ACTIVITY_SCHEMA)).cast(ACTIVITY_SCHEMA).sort("day", "rule"))
