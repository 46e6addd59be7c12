"""The optional Redis cache of the serving API against a real redis-server (started on a free
port); skipped where the binary or the client library (extra ``redis``) is missing."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from dagster_project.serving.cache import RedisCache, cache_key

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_url(tmp_path, serving_helpers):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary on this machine (the Redis cache is optional)")
    pytest.importorskip("redis", reason="the redis client is the optional extra [redis]")
    port = serving_helpers.free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_two_instances_share_entries_which_expire_after_their_ttl(redis_url):
    a, b = RedisCache(redis_url), RedisCache(redis_url)
    key = cache_key("revenue-tracking", "c1", {}, {"reporting/rpt_client_revenue_daily": 1})
    a.set(key, b'{"status": "ok"}', 0.5)
    assert b.get(key) == b'{"status": "ok"}'
    bumped = cache_key("revenue-tracking", "c1", {}, {"reporting/rpt_client_revenue_daily": 2})
    assert b.get(bumped) is None
    time.sleep(0.7)
    assert b.get(key) is None
