"""Retry schedule (full-jitter exponential backoff worked by hand, draws uniform by a
Kolmogorov-Smirnov test), the signed body, the human text, secret redaction, and the
dead-letter rule of a recorded batch."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from scipy import stats

from dagster_project.notify.channels import (
    Outcome,
    _redact,
    body,
    hmac_sha256_hex,
    signature,
    slack_payload,
    text,
)
from dagster_project.notify.deliver import _record, backoff_seconds, jitter_draws
from dagster_project.notify.lifecycle import NOTIFICATION_SCHEMA
from dagster_project.notify.rules import Delivery

DELIVERY = Delivery(max_attempts=3, backoff_base=dt.timedelta(seconds=30),
                    backoff_max=dt.timedelta(hours=1))
NOTE = {"notification_id": "ab" * 12, "alert_key": "k", "kind": "escalated",
        "severity": "critical", "rule": "r", "source": "anomaly", "metric": "host_cpu_pct",
        "entity": "host-1", "title": "host_cpu_pct spike on host-1",
        "occurred_at": dt.datetime(2025, 3, 1, 14, 5), "details": '{"score":0.999}'}


def test_backoff_doubles_from_the_base_up_to_the_cap_times_the_draw():
    # caps: 30, 60, 120, ... 3600 (30 * 2^7 = 3840 > 3600)
    got = backoff_seconds(np.array([1, 2, 3, 8, 20]), DELIVERY, np.array([0.5, 0.5, 0.25,
                                                                        0.5, 0.999]))
    assert got.tolist() == pytest.approx([15.0, 30.0, 30.0, 1800.0, 3596.4])


@pytest.mark.parametrize("attempt,u", [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_backoff_refuses_impossible_arguments(attempt, u):
    with pytest.raises(ValueError, match="attempt must be >= 1 and u in"):
        backoff_seconds(np.array([attempt]), DELIVERY, np.array([u]))


def test_jitter_draws_are_reproducible_and_uniform():
    ids = pl.Series([f"{i:024x}" for i in range(4000)])
    attempts = pl.Series([1 + i % 5 for i in range(4000)])
    u = jitter_draws(ids, attempts)
    assert np.array_equal(u, jitter_draws(ids, attempts))
    assert ((u >= 0) & (u < 1)).all()
    assert stats.kstest(u, "uniform").pvalue > 0.001
    again = jitter_draws(ids, attempts + 1)  # another attempt of the same ids: another draw
    assert abs(np.corrcoef(u, again)[0, 1]) < 0.1


def test_the_signature_is_hmac_over_timestamp_dot_body():
    raw = body(NOTE)
    assert signature("secret", 1700000000, raw) == "sha256=" + hmac_sha256_hex(
        b"secret", b"1700000000." + raw)
    assert signature("secret", 1700000001, raw) != signature("secret", 1700000000, raw)


def test_the_body_is_compact_sorted_json_of_the_notification():
    raw = body(NOTE)
    doc = json.loads(raw)
    assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert doc["occurred_at"] == "2025-03-01T14:05:00" and doc["details"] == {"score": 0.999}
    assert doc["notification_id"] == NOTE["notification_id"]


def test_the_text_and_slack_payload_say_severity_title_kind_and_time():
    assert text(NOTE) == ("[CRITICAL] host_cpu_pct spike on host-1 (ESCALATED) at "
                          "2025-03-01 14:05 UTC")
    block = slack_payload(NOTE)["blocks"][0]["text"]
    assert block["type"] == "mrkdwn" and NOTE["notification_id"] in block["text"]


def test_secrets_are_redacted_longest_first():
    assert _redact("GET https://h/x/abc123 token abc", ["abc", "abc123"]) == (
        "GET https://h/x/*** token ***")


def test_a_batch_record_dead_letters_permanent_failures_and_the_last_attempt():
    rows = [{**{k: None for k in NOTIFICATION_SCHEMA}, "notification_id": f"{i:024x}",
             "channel": "hook", "attempts": a, "status": "pending",
             "occurred_at": dt.datetime(2025, 1, 1), "attempt_limit": 3}
            for i, a in enumerate([0, 0, 2, 1])]
    batch = pl.DataFrame(rows, schema={**NOTIFICATION_SCHEMA, "attempt_limit": pl.Int64})
    outcomes = [Outcome(True, False, 200, None, 1.0),  # delivered
                Outcome(False, False, 400, "HTTP 400", 1.0),  # permanent: dead at once
                Outcome(False, True, 500, "HTTP 500", 1.0),  # 3rd of 3 attempts: dead
                Outcome(False, True, None, "timed out after 5 s", 1.0)]  # retried
    at = dt.datetime(2026, 1, 1)
    attempts, updated, summary = _record(batch, outcomes, DELIVERY, at)
    assert updated["status"].to_list() == ["delivered", "dead_letter", "dead_letter", "pending"]
    assert attempts["outcome"].to_list() == ["delivered", "dead_letter", "dead_letter", "retry"]
    assert updated["attempts"].to_list() == [1, 1, 3, 2]
    assert (summary.sent, summary.retried, summary.dead_lettered) == (1, 1, 1 + 1)
    wait = (updated["next_attempt_at"][3] - at).total_seconds()
    assert 0 <= wait < 60  # second attempt failed: up to 30 * 2
    assert attempts["attempt_id"].n_unique() == 4
