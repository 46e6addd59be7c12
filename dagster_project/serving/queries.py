"""The SQL behind each REST area and WebSocket metric: what is read, for whom, how long it is
cached, and which tables' versions invalidate it.

Every client-scoped query filters on the client in SQL (``client_id = ?``); on PostgreSQL the
``reporting`` ones also run as the client role under row-level security (``rls``). Aggregates
are computed in SQL. Rates are ratios of sums over the timeframe (not means of daily ratios).
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster_project.serving import cache
from dagster_project.serving.models import (
    DEFAULT_DAYS,
    PerformanceRequest,
    PricingRequest,
    RevenueRequest,
    SegmentsRequest,
    Timeframe,
    UsageRequest,
)

USAGE = "reporting.rpt_client_usage_daily"
REVENUE = "reporting.rpt_client_revenue_daily"
SUBSCRIPTION = "reporting.rpt_client_subscription"
CUSTOMERS = "reporting.rpt_client_customers"
PRICE_RECS = "reporting.rpt_price_recommendations"
PROPOSALS = "ops.pricing_proposals"
PERF_STATUS = "analytics.performance_status"
SLO_BURN = "analytics.performance_slo_burn"
GENERATION = "analytics.content_generation_performance"
EXPERIMENTS = "analytics.experiments"
EXPERIMENT_RESULTS = "analytics.experiment_results"


def version_name(table: str) -> str:
    """``schema.table`` as the asset key string ``ops.serving_versions`` uses."""
    return table.replace(".", "/")


@dataclass(frozen=True)
class AreaQuery:
    area: str
    queries: tuple[tuple[str, str, tuple], ...]  # (part of the response, sql, params)
    ttl_s: float
    rls: bool = False  # client-keyed reporting reads (PostgreSQL: under row-level security)

    @property
    def reads(self) -> list[tuple[str, tuple, tuple[str, ...]]]:
        """(sql, params, the tables it reads) of each part, for ``Reader.read``."""
        return [(sql, params, tables_in(sql)) for _, sql, params in self.queries]

    @property
    def tables(self) -> tuple[str, ...]:
        """The version names this answer depends on."""
        return tuple(sorted({version_name(t) for _, sql, _ in self.queries
                             for t in tables_in(sql)}))


def tables_in(sql: str) -> tuple[str, ...]:
    return tuple(t for t in _ALL_TABLES if t in sql)


_ALL_TABLES = (USAGE, REVENUE, SUBSCRIPTION, CUSTOMERS, PRICE_RECS, PROPOSALS, PERF_STATUS,
               SLO_BURN, GENERATION, EXPERIMENTS, EXPERIMENT_RESULTS)


def _window(column: str, table: str, tf: Timeframe, client_id: str) -> tuple[str, tuple]:
    """The timeframe as SQL: given dates, or the last DEFAULT_DAYS days with the client's data."""
    if tf.start_date is None and tf.end_date is None:
        latest = f"(select max({column}) from {table} where client_id = ?)"
        return f"{column} >= {latest} - {DEFAULT_DAYS - 1}", (client_id,)
    sql, params = [], []
    if tf.start_date is not None:
        sql.append(f"{column} >= ?")
        params.append(tf.start_date)
    if tf.end_date is not None:
        sql.append(f"{column} <= ?")
        params.append(tf.end_date)
    return " and ".join(sql), tuple(params)


def usage(req: UsageRequest, client_id: str) -> AreaQuery:
    window, wp = _window("activity_date", USAGE, req.timeframe, client_id)
    platforms = req.filters.platforms
    pf = f" and platform in ({', '.join('?' for _ in platforms)})" if platforms else ""
    where = f"where client_id = ? and {window}{pf}"
    params = (client_id, *wp, *(platforms or ()))
    daily = (f"select activity_date, platform, posts_published, impressions, reach, engagements,"
             f" clicks, followers_gained from {USAGE} {where} order by activity_date, platform")
    totals = (f"select platform, cast(sum(posts_published) as bigint) as posts_published,"
              f" cast(sum(impressions) as bigint) as impressions, cast(sum(engagements) as bigint) as engagements,"
              f" cast(sum(clicks) as bigint) as clicks, cast(sum(followers_gained) as bigint) as followers_gained,"
              f" cast(sum(engagements) as double precision) / nullif(sum(impressions), 0)"
              f" as engagements_per_impression"
              f" from {USAGE} {where} group by platform order by platform")
    return AreaQuery("usage-analytics", (("daily", daily, params), ("totals", totals, params)),
                     cache.USAGE_TTL, rls=True)


def revenue(req: RevenueRequest, client_id: str) -> AreaQuery:
    window, wp = _window("revenue_date", REVENUE, req.timeframe, client_id)
    where, params = f"where client_id = ? and {window}", (client_id, *wp)
    daily = (f"select revenue_date, orders, customers, revenue, first_order_revenue,"
             f" repeat_order_revenue from {REVENUE} {where} order by revenue_date")
    totals = (f"select cast(count(*) as bigint) as days, cast(sum(orders) as bigint) as orders, sum(revenue) as revenue,"
              f" sum(revenue) / nullif(sum(orders), 0) as avg_order_value,"
              f" min(revenue_date) as first_day, max(revenue_date) as last_day"
              f" from {REVENUE} {where}")
    subscription = (f"select current_status, current_tier, current_billing_period, current_mrr,"
                    f" is_churned, tenure_days from {SUBSCRIPTION} where client_id = ?")
    return AreaQuery("revenue-tracking", (("daily", daily, params), ("totals", totals, params),
                                          ("subscription", subscription, (client_id,))),
                     cache.REVENUE_TTL, rls=True)


def performance(req: PerformanceRequest, client_id: str | None) -> AreaQuery:
    status = f"select * from {PERF_STATUS} order by component"
    latest = (f"select * from {SLO_BURN} where hour_at = (select max(hour_at) from {SLO_BURN})"
              f" order by service")
    parts = [("health", status, ()), ("services", latest, ())]
    if client_id is not None:
        parts.append(("content_generation",
                      f"select * from {GENERATION} where client_id = ?", (client_id,)))
    return AreaQuery("performance-monitoring", tuple(parts), cache.REALTIME_TTL)


def segments(req: SegmentsRequest, client_id: str) -> AreaQuery:
    col = req.group_by
    names = req.filters.segments
    sf = f" and {col} in ({', '.join('?' for _ in names)})" if names else ""
    sql = (f"select {col} as segment, cast(count(*) as bigint) as customers, cast(sum(orders) as bigint) as orders,"
           f" sum(total_revenue) as total_revenue, avg(clv_12m) as mean_clv_12m,"
           f" avg(p_alive) as mean_p_alive from {CUSTOMERS} where client_id = ?{sf}"
           f" group by {col} order by {col}")
    return AreaQuery("segments", (("segments", sql, (client_id, *(names or ()))),),
                     cache.DASHBOARD_TTL, rls=True)


def pricing(req: PricingRequest) -> AreaQuery:
    parts = [("recommendations", f"select * from {PRICE_RECS} order by tier", ())]
    if req.include_proposals != "none":
        only = " where status = 'pending'" if req.include_proposals == "pending" else ""
        parts.append(("proposals", f"select * from {PROPOSALS}{only} order by proposal_id", ()))
    return AreaQuery("pricing-optimization", tuple(parts), cache.DASHBOARD_TTL)


def experiment_owner(experiment_id: str) -> tuple[str, tuple]:
    return (f"select client_id from {EXPERIMENTS} where experiment_id = ?", (experiment_id,))


def experiment_results(experiment_id: str) -> AreaQuery:
    sql = (f"select * from {EXPERIMENT_RESULTS} where experiment_id = ?"
           f" order by metric, variant")
    return AreaQuery("experiment-results", (("results", sql, (experiment_id,)),),
                     cache.DASHBOARD_TTL)


# WebSocket metric types -> the REST area whose answer they carry (defaults: last 30 days)
def metric(metric_type: str, client_id: str) -> AreaQuery:
    if metric_type == "revenue":
        return revenue(RevenueRequest(), client_id)
    if metric_type == "engagement":
        return usage(UsageRequest(), client_id)
    if metric_type == "performance":
        return performance(PerformanceRequest(), client_id)
    raise ValueError(f"unknown metric type {metric_type!r} (revenue | engagement | performance)")


METRIC_TYPES = ("revenue", "engagement", "performance")
