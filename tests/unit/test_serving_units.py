"""The serving API's small parts: token bucket arithmetic, the TTL/LRU cache and its
version-stamped keys, token format and verification, request validation rules, the
principal's client scope, settings parsing."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from pydantic import ValidationError

from dagster_project.serving import tokens
from dagster_project.serving.auth import AuthError, scoped_client
from dagster_project.serving.cache import (
    CachedComputer,
    MemoryCache,
    StoredBody,
    cache_key,
)
from dagster_project.serving.models import RegisterExperimentRequest, Timeframe, UsageRequest
from dagster_project.serving.ratelimit import TokenBuckets
from dagster_project.serving.settings import serving_settings


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_a_full_bucket_grants_burst_requests_then_waits_one_over_rate():
    clock = Clock()
    b = TokenBuckets(rate=4.0, burst=3, clock=clock)
    assert [b.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("k") == pytest.approx(0.25)  # empty: one token is back in 1 / 4 s
    clock.t = 0.125  # half a token refilled
    assert b.take("k") == pytest.approx(0.125)
    clock.t = 0.25
    assert b.take("k") == 0.0
    assert b.take("other") == 0.0  # buckets are per key


def test_a_bucket_never_refills_beyond_its_burst():
    clock = Clock()
    b = TokenBuckets(rate=10.0, burst=2, clock=clock)
    clock.t = 100.0
    assert [b.take("k") for _ in range(3)][2] == pytest.approx(0.1)


@pytest.mark.parametrize(("rate", "burst", "name"), [(0, 1, "rate"), (1, 0, "burst")])
def test_impossible_bucket_arguments_raise_naming_them(rate, burst, name):
    with pytest.raises(ValueError, match=name):
        TokenBuckets(rate=rate, burst=burst)


def test_cache_entries_expire_after_their_ttl_and_the_least_recent_is_evicted():
    clock = Clock()
    c = MemoryCache(max_entries=2, clock=clock)
    c.set("a", b"1", 10)
    c.set("b", b"2", 10)
    assert c.get("a") == b"1"  # a is now the most recent
    c.set("c", b"3", 10)
    assert (c.get("a"), c.get("b"), c.get("c")) == (b"1", None, b"3")
    clock.t = 10.0
    assert c.get("a") is None and len(c) == 1


def test_a_version_bump_changes_the_key():
    before = cache_key("revenue", "c1", {"x": 1}, {"reporting/t": 3})
    assert before == cache_key("revenue", "c1", {"x": 1}, {"reporting/t": 3})
    assert before != cache_key("revenue", "c1", {"x": 1}, {"reporting/t": 4})
    assert before != cache_key("revenue", "c2", {"x": 1}, {"reporting/t": 3})
    assert before != cache_key("revenue", "c1", {"x": 2}, {"reporting/t": 3})


def test_concurrent_misses_of_one_key_compute_once():
    calls = []

    async def compute():
        calls.append(1)
        await asyncio.sleep(0.01)
        return b"body"

    async def main():
        computer = CachedComputer(MemoryCache(10))
        return await asyncio.gather(*(computer.get_or_compute("k", 60, compute)
                                      for _ in range(20)))

    results = asyncio.run(main())
    assert len(calls) == 1 and {body for body, _ in results} == {b"body"}


def test_a_large_body_is_stored_gzipped_once_and_reads_back_the_same_json():
    import gzip
    import json

    body = json.dumps({"rows": [{"day": i, "revenue": i * 1.5} for i in range(200)]}).encode()
    stored = StoredBody.of(body, gzip_min_bytes=1024)
    assert stored.gzipped and len(stored.data) < len(body)
    assert gzip.decompress(stored.data) == body  # a standard gzip stream (RFC 1952)
    again = StoredBody.from_bytes(stored.to_bytes())
    assert again == stored and again.json() == body
    assert StoredBody.of(body, gzip_min_bytes=1024).data == stored.data  # no timestamp inside
    small = StoredBody.of(b'{"a": 1}', gzip_min_bytes=1024)
    assert not small.gzipped and StoredBody.from_bytes(small.to_bytes()).json() == b'{"a": 1}'
    with pytest.raises(ValueError, match="not a stored body"):
        StoredBody.from_bytes(b'{"a": 1}')


def _row(secret="s3cret", expires=dt.datetime(2030, 1, 1), revoked=None):
    return {"secret_sha256": tokens.digest(secret), "expires_at": expires, "revoked_at": revoked}


def test_token_verification_refuses_a_wrong_secret_an_expired_and_a_revoked_token():
    now = dt.datetime(2026, 1, 1)
    assert tokens.verify(_row(), "s3cret", now) is None
    assert tokens.verify(_row(), "s3cre", now) == "invalid token"
    assert tokens.verify(_row(expires=now), "s3cret", now) == "token expired"
    assert tokens.verify(_row(revoked=now), "s3cret", now) == "token revoked"


def test_the_stored_hash_is_the_sha256_of_the_secret():
    # SHA-256("abc"), FIPS 180-2 appendix B.1
    assert tokens.digest("abc") == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_token_format_splits_into_id_and_secret():
    assert tokens.split_token("bi_abc123.se.cret") == ("abc123", "se.cret")
    for bad in ("abc123.secret", "bi_abc123", "bi_.secret", "bi_abc."):
        assert tokens.split_token(bad) is None


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"role": "owner", "client_id": "c1"}, "role"),
    ({"role": "client", "client_id": None}, "client_id is required"),
    ({"role": "admin", "client_id": "c1"}, "refused for admin"),
    ({"role": "client", "client_id": "c1", "days": 0}, "days"),
])
def test_impossible_token_arguments_raise_before_writing(kwargs, words):
    args = {"name": "n", "days": 1.0, "actor": "a", **kwargs}
    with pytest.raises(ValueError, match=words):
        tokens.issue(None, args["name"], args["role"], args["client_id"], args["days"],
                     args["actor"])


def test_a_client_token_reads_its_own_client_and_an_admin_must_name_one():
    client = tokens.Principal("id", "n", "client", "c1", dt.datetime(2030, 1, 1))
    admin = tokens.Principal("id", "n", "admin", None, dt.datetime(2030, 1, 1))
    assert scoped_client(client, None) == "c1" and scoped_client(client, "c1") == "c1"
    assert scoped_client(admin, "c9") == "c9"
    for principal, requested, status in ((client, "c2", 403), (admin, None, 422)):
        with pytest.raises(AuthError) as e:
            scoped_client(principal, requested)
        assert e.value.status == status


def test_timeframes_are_ordered_and_bounded():
    Timeframe(start_date=dt.date(2024, 1, 1), end_date=dt.date(2025, 12, 31))  # 730 days
    with pytest.raises(ValidationError, match="on or before"):
        Timeframe(start_date=dt.date(2024, 2, 1), end_date=dt.date(2024, 1, 1))
    with pytest.raises(ValidationError, match="at most 731 days"):
        Timeframe(start_date=dt.date(2024, 1, 1), end_date=dt.date(2026, 1, 1))
    with pytest.raises(ValidationError, match="Extra inputs"):
        UsageRequest.model_validate({"timeframe": {"start": "2024-01-01"}})


def test_an_experiment_definition_needs_weights_summing_to_one_and_a_named_control():
    base = {"name": "n", "hypothesis": "h", "kind": "feature", "unit_type": "user",
            "primary_metric": "conversion"}
    RegisterExperimentRequest.model_validate(
        {**base, "variants": [{"name": "control", "weight": 0.5}, {"name": "b", "weight": 0.5}]})
    with pytest.raises(ValidationError, match="sum to 1"):
        RegisterExperimentRequest.model_validate(
            {**base, "variants": [{"name": "control", "weight": 0.5}, {"name": "b", "weight": 0.4}]})
    with pytest.raises(ValidationError, match="not one of the variants"):
        RegisterExperimentRequest.model_validate(
            {**base, "variants": [{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.5}]})


def test_settings_come_from_the_environment_and_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("BI_SERVING_RATE_PER_SECOND", "7.5")
    monkeypatch.setenv("BI_SERVING_BURST", "")
    s = serving_settings()
    assert (s.rate_per_second, s.burst) == (7.5, 40)
    monkeypatch.setenv("BI_SERVING_PORT", "eighty")
    with pytest.raises(ValueError, match="BI_SERVING_PORT"):
        serving_settings()
    monkeypatch.setenv("BI_SERVING_PORT", "8000")
    monkeypatch.setenv("BI_SERVING_POLL_INTERVAL_S", "0")
    with pytest.raises(ValueError, match="poll_interval_s"):
        serving_settings()
