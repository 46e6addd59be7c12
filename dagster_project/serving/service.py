"""The service's shared state: reader, cache, token index, rate limits, table versions, and
the poller that keeps the versions (and so the cache and the dashboards) current."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os

import anyio
import duckdb
import psycopg

from dagster_project.serving.auth import TokenIndex
from dagster_project.serving.cache import (
    CachedComputer,
    MemoryCache,
    RedisCache,
    StoredBody,
    cache_key,
)
from dagster_project.serving.queries import AreaQuery
from dagster_project.serving.ratelimit import TokenBuckets
from dagster_project.serving.reader import Reader
from dagster_project.serving.settings import ServingSettings
from dagster_project.serving.tokens import load_tokens
from dagster_project.serving.versions import TOKENS_VERSION, read_versions
from dagster_project.warehouse import Warehouse

log = logging.getLogger(__name__)


class Service:
    def __init__(self, settings: ServingSettings, warehouse: Warehouse,
                 client_warehouse: Warehouse | None = None):
        self.settings = settings
        self.warehouse = warehouse
        self.reader = Reader(warehouse, client_warehouse, settings.query_timeout_s)
        cache = (RedisCache(settings.redis_url) if settings.redis_url
                 else MemoryCache(settings.cache_max_entries))
        self.computer = CachedComputer(cache)
        self.buckets = TokenBuckets(settings.rate_per_second, settings.burst)
        self.tokens = TokenIndex(self._load_tokens)
        self.versions: dict[str, int] = {}
        self.versions_changed = asyncio.Event()  # replaced after each change
        self._stamp: tuple | None = None
        self.ws_counts = {"open": 0, "closed_slow": 0}

    def _load_tokens(self) -> dict[str, dict]:
        with self.reader.gate.reading(), self.warehouse.read_session(
                timeout_s=self.settings.query_timeout_s) as s:
            return load_tokens(s)

    def _file_stamp(self) -> tuple | None:
        """DuckDB: the file's and its WAL's (size, mtime), so an idle poll opens nothing."""
        if self.warehouse.backend != "duckdb":
            return None
        stamp = []
        for path in (self.warehouse.duckdb_path, self.warehouse.duckdb_path + ".wal"):
            try:
                st = os.stat(path)
                stamp.append((st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                stamp.append(None)
        return tuple(stamp)

    def _poll_sync(self) -> dict[str, int] | None:
        stamp = self._file_stamp()
        if stamp is not None and stamp == self._stamp:
            return None
        with self.reader.gate.reading(), self.warehouse.read_session(
                timeout_s=self.settings.query_timeout_s) as s:
            versions = read_versions(s)
        self._stamp = stamp
        return versions

    async def poll_once(self) -> None:
        versions = await anyio.to_thread.run_sync(self._poll_sync)
        if versions is None or versions == self.versions:
            return
        tokens_changed = versions.get(TOKENS_VERSION) != self.versions.get(TOKENS_VERSION)
        self.versions = versions
        if tokens_changed:
            await anyio.to_thread.run_sync(self.tokens.reload)
        changed, self.versions_changed = self.versions_changed, asyncio.Event()
        changed.set()

    async def poll_forever(self) -> None:
        while True:
            try:
                await self.poll_once()
            except (duckdb.Error, psycopg.Error, OSError) as e:  # busy or missing: next time
                log.warning("polling ops.serving_versions failed: %s", e)
            await asyncio.sleep(self.settings.poll_interval_s)

    async def answer(self, aq: AreaQuery, client_id: str | None, request: dict
                     ) -> tuple[StoredBody, bool]:
        """The area's response body (JSON, gzipped when large), from the cache when its
        versions match; and whether it was a hit."""
        versions = {t: self.versions.get(t, 0) for t in aq.tables}
        key = cache_key(aq.area, client_id, request, versions)

        async def compute() -> bytes:
            body = {"area": aq.area, "client_id": client_id, "versions": versions,
                    "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            frames = await self.reader.read(aq.reads, client_id, aq.rls)
            body.update(answer_status(aq, frames))
            for (name, _, _), frame in zip(aq.queries, frames, strict=True):
                body[name] = None if frame is None else json.loads(frame.write_json())
            return StoredBody.of(json.dumps(body).encode(),
                                 self.settings.gzip_min_bytes).to_bytes()

        framed, hit = await self.computer.get_or_compute(key, aq.ttl_s, compute)
        return StoredBody.from_bytes(framed), hit


def answer_status(aq: AreaQuery, frames: list) -> dict:
    """``ok``; ``no_data`` (every part read, no rows); ``partial`` (some parts' tables are
    not materialized yet: those parts are null); ``not_materialized`` (none is)."""
    missing = [name for (name, _, _), f in zip(aq.queries, frames, strict=True) if f is None]
    if len(missing) == len(frames):
        return {"status": "not_materialized",
                "status_message": f"not materialized yet: {', '.join(missing)}"}
    if missing:
        return {"status": "partial", "status_message": f"not materialized yet: "
                f"{', '.join(missing)} (null)"}
    if all(f.is_empty() for f in frames):
        return {"status": "no_data", "status_message": "no rows for this request"}
    return {"status": "ok", "status_message": ""}
