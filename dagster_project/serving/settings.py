"""The serving API's configuration, read from ``BI_SERVING_*`` environment variables (the
warehouse itself comes from ``dagster_project.settings``)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ServingSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    dagster_url: str = "http://127.0.0.1:3000"  # the webserver that launches write jobs
    rate_per_second: float = 20.0  # token bucket refill, per token
    burst: int = 40  # token bucket capacity
    max_body_bytes: int = 64 * 1024  # larger request bodies get 413
    query_timeout_s: float = 10.0  # warehouse queries interrupted after this (504)
    poll_interval_s: float = 1.0  # how often ops.serving_versions is read
    gzip_min_bytes: int = 1024  # responses at least this large are gzip-compressed
    cache_max_entries: int = 10_000
    redis_url: str | None = None  # a shared cache for several instances; None: in-process
    ws_min_frequency_s: float = 5.0  # lower bound of a subscription's update_frequency
    ws_queue_size: int = 8  # messages waiting for a slow consumer before it is closed
    pg_client_user: str = "bi_client"  # PostgreSQL: the role of client-scoped reporting reads
    pg_client_password: str = ""

    def __post_init__(self):
        for name in ("rate_per_second", "query_timeout_s", "poll_interval_s",
                     "ws_min_frequency_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("burst", "max_body_bytes", "cache_max_entries", "ws_queue_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


_VARIABLES = {  # field -> (environment variable, type)
    "host": ("BI_SERVING_HOST", str), "port": ("BI_SERVING_PORT", int),
    "dagster_url": ("BI_SERVING_DAGSTER_URL", str),
    "rate_per_second": ("BI_SERVING_RATE_PER_SECOND", float),
    "burst": ("BI_SERVING_BURST", int), "max_body_bytes": ("BI_SERVING_MAX_BODY_BYTES", int),
    "query_timeout_s": ("BI_SERVING_QUERY_TIMEOUT_S", float),
    "poll_interval_s": ("BI_SERVING_POLL_INTERVAL_S", float),
    "gzip_min_bytes": ("BI_SERVING_GZIP_MIN_BYTES", int),
    "cache_max_entries": ("BI_SERVING_CACHE_MAX_ENTRIES", int),
    "redis_url": ("BI_SERVING_REDIS_URL", str),
    "ws_min_frequency_s": ("BI_SERVING_WS_MIN_FREQUENCY_S", float),
    "ws_queue_size": ("BI_SERVING_WS_QUEUE_SIZE", int),
    "pg_client_user": ("BI_SERVING_PG_CLIENT_USER", str),
    "pg_client_password": ("BI_SERVING_PG_CLIENT_PASSWORD", str),
}


def serving_settings() -> ServingSettings:
    """Settings from the environment; unset or empty variables keep the defaults."""
    values = {}
    for field, (variable, kind) in _VARIABLES.items():
        raw = os.environ.get(variable, "").strip()
        if raw:
            try:
                values[field] = kind(raw)
            except ValueError:
                raise ValueError(f"{variable} must be a {kind.__name__}, got {raw!r}") from None
    return ServingSettings(**values)
