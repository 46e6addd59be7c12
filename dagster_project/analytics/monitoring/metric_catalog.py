"""The metric series that monitoring watches: one row per metric, the one list that the
detectors read their series from and the alert rules are validated against.

Each series is ``value_sql`` over ``mart`` at ``grain`` (hour or day, keyed by ``time_column``),
one series per ``entity_columns`` value (joined with ``/`` into the entity text; no columns: one fleet-wide series); ``scope`` is what
an alert rule may narrow it to (``global``, ``client``, ``platform``). ``seasonality`` names the
calendar keys of the robust baseline (hour_of_week, day_of_week, day_of_month).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Grain = Literal["hour", "day"]
Scope = Literal["global", "client", "platform"]


@dataclass(frozen=True)
class MonitoredMetric:
    name: str
    mart: str
    time_column: str
    grain: Grain
    entity_kind: str  # service endpoint, host, client, platform, tier
    entity_columns: tuple[str, ...]
    value_sql: str  # an aggregate over the mart's rows of one entity and time
    scope: Scope
    seasonality: tuple[str, ...]
    description: str


_API = ("fct_api_performance_hourly", "hour_at", "hour", "endpoint", ("service", "endpoint"))
_HOST = ("fct_resource_usage_hourly", "hour_at", "hour", "host", ("host",))

METRICS: dict[str, MonitoredMetric] = {m.name: m for m in (
    MonitoredMetric("api_latency_p95_ms", *_API, "max(latency_p95_ms)", "global",
                    ("hour_of_week",), "API p95 latency of an endpoint in the hour (ms)."),
    MonitoredMetric("api_error_rate", *_API, "sum(errors) / nullif(sum(requests), 0)", "global",
                    ("hour_of_week",), "Errors over requests of an endpoint in the hour."),
    MonitoredMetric("api_requests", *_API, "sum(requests)", "global",
                    ("hour_of_week",), "Requests to an endpoint in the hour."),
    MonitoredMetric("host_cpu_pct", *_HOST, "avg(avg_cpu_pct)", "global",
                    ("hour_of_week",), "Mean CPU use of a host in the hour (%)."),
    MonitoredMetric("host_memory_pct", *_HOST, "avg(avg_memory_pct)", "global",
                    ("hour_of_week",), "Mean memory use of a host in the hour (%)."),
    MonitoredMetric("host_disk_pct", *_HOST, "avg(avg_disk_pct)", "global",
                    ("hour_of_week",), "Mean disk use of a host in the hour (%)."),
    MonitoredMetric("host_queue_depth", *_HOST, "avg(avg_queue_depth)", "global",
                    ("hour_of_week",), "Mean queue depth of a host in the hour."),
    MonitoredMetric("content_generation_failures", "fct_content_generation_daily", "job_date",
                    "day", "fleet", (), "sum(failed_jobs + timeout_jobs)", "global",
                    ("day_of_week",), "Failed and timed-out content-generation jobs of the day."),
    MonitoredMetric("client_daily_revenue", "fct_revenue_daily", "revenue_date", "day",
                    "client", ("client_id",), "sum(revenue)", "client",
                    ("day_of_week",), "A client's end-customer revenue of the day."),
    MonitoredMetric("platform_engagement", "fct_platform_usage_daily", "activity_date", "day",
                    "platform", ("platform",), "sum(engagements)", "platform",
                    ("day_of_week",), "Engagements on a social platform of the day, all clients."),
    MonitoredMetric("tier_mrr", "fct_mrr_daily", "date_day", "day", "tier", ("tier",),
                    "sum(mrr)", "global", ("day_of_month",), "MRR of a subscription tier."),
)}


def metric(name: str) -> MonitoredMetric:
    """The monitored metric ``name`` (KeyError names the known ones)."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}") from None
