"""Delivering due notifications: batches, retries with backoff and jitter, dead letters.

A batch is the ``batch_size`` oldest pending notifications whose ``next_attempt_at`` has come.
They are sent concurrently (``workers`` threads, one httpx client), then every attempt is
written to ``ops.alert_deliveries`` and every notification's new state to
``ops.alert_notifications`` in one transaction. Nothing is marked before it is sent, so a
process killed mid-batch loses no notification: after a restart the batch's notifications are
still pending and are sent again *with the same idempotency key*; a receiver that honours the
key counts none twice. In normal operation each notification is sent until it is delivered
once, so the receiver sees its key once (twice only when an answer was lost and the request is
retried).

After a failed attempt ``n`` (1, 2, ...) a retryable failure waits
``u * min(backoff_max, backoff_base * 2 ** (n - 1))`` with ``u`` uniform in [0, 1) ("full
jitter", M. Brooker, *Exponential Backoff And Jitter*, AWS Architecture Blog, 2015); ``u`` is
a hash of the notification id and ``n`` (:func:`jitter_draws`), so a schedule can be
reproduced. The attempt that reaches ``attempt_limit``, or any permanent failure, sets status
``dead_letter``; the redeliver job sets dead letters back to pending with a fresh limit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass

import httpx
import numpy as np
import polars as pl

from dagster_project.notify.channels import Outcome, send
from dagster_project.notify.occurrences import stable_hash
from dagster_project.notify.rules import Delivery, RuleSet
from dagster_project.notify.store import (
    DELIVERIES,
    DELIVERY_SCHEMA,
    NOTIFICATION_COLUMNS,
    NOTIFICATIONS,
    ensure_tables,
)
from dagster_project.warehouse import WarehouseSession


def backoff_seconds(attempt: np.ndarray, delivery: Delivery, u: np.ndarray) -> np.ndarray:
    """The wait after failed attempt ``attempt`` (>= 1) for uniform draws ``u`` in [0, 1)."""
    attempt, u = np.asarray(attempt, dtype=float), np.asarray(u, dtype=float)
    if (attempt < 1).any() or ((u < 0) | (u >= 1)).any():
        raise ValueError("attempt must be >= 1 and u in [0, 1)")
    cap = np.minimum(delivery.backoff_max.total_seconds(),
                     delivery.backoff_base.total_seconds() * 2.0 ** (attempt - 1))
    return u * cap


def jitter_draws(notification_id: pl.Series, attempt: pl.Series) -> np.ndarray:
    """The ``u`` of each notification's attempt: the first 13 hex digits of
    sha256(id | attempt) over 16^13, reproducible and independent across ids and attempts."""
    frame = pl.DataFrame({"id": notification_id, "attempt": attempt})
    digits = frame.select(stable_hash(pl.col("id"), pl.col("attempt")).str.slice(0, 13)
                          .str.to_integer(base=16))
    return digits.to_series().to_numpy() / 16.0 ** 13


@dataclass(frozen=True)
class DeliverySummary:
    sent: int = 0
    retried: int = 0  # failed attempts that will be retried
    dead_lettered: int = 0
    batches: int = 0

    def __add__(self, other: DeliverySummary) -> DeliverySummary:
        return DeliverySummary(self.sent + other.sent, self.retried + other.retried,
                               self.dead_lettered + other.dead_lettered,
                               self.batches + other.batches)

    def __str__(self) -> str:
        return (f"sent {self.sent}, retried {self.retried}, dead-lettered "
                f"{self.dead_lettered} ({self.batches} batch(es))")


def _due(s: WarehouseSession, limit: int) -> pl.DataFrame:
    return s.read(f"select * from {NOTIFICATIONS} where status = 'pending'"
                  " and next_attempt_at <= ? order by created_at, notification_id limit ?",
                  [s.clock(), limit])


def _record(batch: pl.DataFrame, outcomes: list[Outcome], delivery: Delivery,
            at: dt.datetime) -> tuple[pl.DataFrame, pl.DataFrame, DeliverySummary]:
    attempt = batch["attempts"] + 1
    ok = pl.Series([o.delivered for o in outcomes], dtype=pl.Boolean)
    retryable = pl.Series([o.retryable for o in outcomes], dtype=pl.Boolean)
    dead = ~ok & (~retryable | (attempt >= batch["attempt_limit"]))
    waits = backoff_seconds(attempt.to_numpy(), delivery,
                            jitter_draws(batch["notification_id"], attempt))
    outcome = pl.Series(np.where(ok, "delivered", np.where(dead, "dead_letter", "retry")))
    errors = pl.Series([o.error for o in outcomes], dtype=pl.String)
    attempts = pl.DataFrame({
        "notification_id": batch["notification_id"], "channel": batch["channel"],
        "attempt": attempt, "attempted_at": pl.Series([at] * batch.height,
                                                      dtype=pl.Datetime("us")),
        "outcome": outcome, "status_code": [o.status_code for o in outcomes],
        "error": errors, "duration_ms": [o.duration_ms for o in outcomes]},
        schema_overrides={"status_code": pl.Int64}).with_columns(
        attempt_id=stable_hash(pl.col("notification_id"), pl.col("attempt"))
    ).select(list(DELIVERY_SCHEMA)).cast(DELIVERY_SCHEMA)
    updated = batch.with_columns(
        attempts=attempt,
        status=pl.Series(np.where(ok, "delivered", np.where(dead, "dead_letter", "pending"))),
        next_attempt_at=pl.Series(np.datetime64(at, "us")
                                  + (waits * 1e6).astype("timedelta64[us]")),
        delivered_at=pl.when(ok).then(pl.lit(at, pl.Datetime("us"))),
        last_error=errors,
    ).select(list(NOTIFICATION_COLUMNS)).cast(NOTIFICATION_COLUMNS)
    summary = DeliverySummary(int(ok.sum()), int((~ok & ~dead).sum()), int(dead.sum()), 1)
    return attempts, updated, summary


def deliver_due(
    session: Callable[[], AbstractContextManager[WarehouseSession]],
    rules: RuleSet,
    max_seconds: float = 40.0,
    client: httpx.Client | None = None,
) -> DeliverySummary:
    """Deliver due notifications batch by batch until none is due or ``max_seconds`` have
    passed (a sensor tick must end in time); ``session`` opens a warehouse transaction."""
    delivery = rules.delivery
    started, total = time.monotonic(), DeliverySummary()
    own = client is None
    client = client or httpx.Client(limits=httpx.Limits(max_connections=delivery.workers))
    try:
        with ThreadPoolExecutor(max_workers=delivery.workers) as pool:
            while time.monotonic() - started < max_seconds:
                with session() as s:
                    ensure_tables(s)
                    batch = _due(s, delivery.batch_size)
                if batch.is_empty():
                    break
                rows = batch.to_dicts()
                outcomes = list(pool.map(
                    lambda n: send(n, rules.channels[n["channel"]], client), rows))
                with session() as s:
                    attempts, updated, summary = _record(batch, outcomes, delivery, s.clock())
                    s.write(DELIVERIES, attempts, mode="upsert", key=["attempt_id"])
                    s.write(NOTIFICATIONS, updated, mode="upsert", key=["notification_id"])
                total += summary
    finally:
        if own:
            client.close()
    return total


def redeliver_dead_letters(s: WarehouseSession, rules: RuleSet, channel: str | None = None,
                           alert_key: str | None = None) -> int:
    """Set dead letters (of ``channel`` / ``alert_key`` when given) back to pending, due now,
    with ``max_attempts`` more attempts; returns how many."""
    ensure_tables(s)
    where, params = ["status = 'dead_letter'"], []
    for column, value in (("channel", channel), ("alert_key", alert_key)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    dead = s.read(f"select * from {NOTIFICATIONS} where {' and '.join(where)}", params)
    if dead.is_empty():
        return 0
    unknown = set(dead["channel"]) - set(rules.channels)
    if unknown:
        raise ValueError(f"dead letters on channels the applied rules no longer define: "
                         f"{', '.join(sorted(unknown))}")
    revived = dead.with_columns(
        status=pl.lit("pending"), next_attempt_at=pl.lit(s.clock(), pl.Datetime("us")),
        attempt_limit=pl.col("attempts") + rules.delivery.max_attempts)
    return s.write(NOTIFICATIONS, revived.cast(NOTIFICATION_COLUMNS), mode="upsert",
                   key=["notification_id"])
