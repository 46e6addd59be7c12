"""Response cache: TTL windows per area, keys that carry the versions of the tables read.

A key is ``area | client | digest of the request | versions`` where versions are the current
``ops.serving_versions`` of every table the area reads: when a materialization bumps one, the
key changes, so the old entry is never served again (it ages out by TTL or LRU). This makes
invalidation immediate for every instance sharing a Redis cache too, with nothing to delete.

Backends: :class:`MemoryCache` (in-process, LRU-bounded; the default) and :class:`RedisCache`
(``BI_SERVING_REDIS_URL``: several instances share entries). Values are response bodies as
:class:`StoredBody` bytes: the JSON, gzip-compressed once when it is large, so a hit serves
without re-encoding or re-compressing (compressing a large body on every hit cost more than the
rest of the request).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

# the product's caching windows, in seconds
DASHBOARD_TTL = 30 * 60
USAGE_TTL = 60 * 60
REVENUE_TTL = 15 * 60
REALTIME_TTL = 30


@dataclass(frozen=True)
class StoredBody:
    """A JSON response body as cached: ``data`` is the JSON, or its gzip form when
    ``gzipped``. Framed as one tag byte + data, so every cache backend stores plain bytes."""

    data: bytes
    gzipped: bool

    @classmethod
    def of(cls, body: bytes, gzip_min_bytes: int) -> StoredBody:
        """``body`` compressed when it has at least ``gzip_min_bytes`` (level 6 and no
        timestamp: the same body always gives the same bytes)."""
        if len(body) < gzip_min_bytes:
            return cls(body, False)
        return cls(gzip.compress(body, compresslevel=6, mtime=0), True)

    def json(self) -> bytes:
        return gzip.decompress(self.data) if self.gzipped else self.data

    def to_bytes(self) -> bytes:
        return (b"z" if self.gzipped else b"j") + self.data

    @classmethod
    def from_bytes(cls, framed: bytes) -> StoredBody:
        tag, data = framed[:1], framed[1:]
        if tag not in (b"z", b"j"):
            raise ValueError(f"not a stored body: tag {tag!r}")
        return cls(data, tag == b"z")


class Cache(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_s: float) -> None: ...


class MemoryCache:
    """In-process TTL cache holding at most ``max_entries`` (least recently used evicted)."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic):
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max, self._clock = max_entries, clock

    def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found[1]

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._entries[key] = (self._clock() + ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class RedisCache:
    """The same interface over Redis (``SET key value PX ttl``), shared by instances."""

    def __init__(self, url: str, namespace: str = "bi-serving:"):
        import redis  # optional dependency: pip install -e '.[redis]'

        self._client = redis.Redis.from_url(url)
        self._ns = namespace

    def get(self, key: str) -> bytes | None:
        return self._client.get(self._ns + key)

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._client.set(self._ns + key, value, px=max(1, int(ttl_s * 1000)))


def cache_key(area: str, client_id: str | None, request: dict, versions: dict[str, int]) -> str:
    body = json.dumps(request, sort_keys=True, default=str).encode()
    stamp = ",".join(f"{name}={versions.get(name, 0)}" for name in sorted(versions))
    return f"{area}|{client_id or '*'}|{hashlib.sha256(body).hexdigest()[:32]}|{stamp}"


class CachedComputer:
    """``get_or_compute``: a cache lookup, else one computation per key at a time (callers
    asking for a key already being computed await the same result: no stampede when an
    invalidation makes 200 dashboards ask at once)."""

    def __init__(self, cache: Cache):
        self.cache = cache
        self._pending: dict[str, asyncio.Future] = {}
        self.hits = self.misses = 0

    async def get_or_compute(self, key: str, ttl_s: float,
                             compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        """(body, hit)."""
        found = self.cache.get(key)
        if found is not None:
            self.hits += 1
            return found, True
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending), True
        self.misses += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            body = await compute()
            self.cache.set(key, body, ttl_s)
            future.set_result(body)
            return body, False
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            del self._pending[key]
