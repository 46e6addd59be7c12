"""The headline of each domain for ``make run``'s summary: one line an analyst reads first.

Each headline reads the finished tables through a ``WarehouseSession`` (DuckDB or PostgreSQL),
so it states what the warehouse holds, not what the run believes it wrote. A table that is not
there (its asset did not run, or a workflow has not written it yet) gives a line that says so.
A new domain adds one function to ``HEADLINES``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from dagster_project.warehouse import WarehouseSession

Headline = Callable[[WarehouseSession], str]


def exists(session: WarehouseSession, table: str) -> bool:
    schema, name = table.split(".")
    return bool(session.scalar(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name]))


def counts(frame: pl.DataFrame, column: str) -> str:
    """``value n, value n`` for ``column``, most frequent first (ties by value)."""
    tally = frame.group_by(column).len().sort(["len", column], descending=[True, False])
    return ", ".join(f"{value} {n}" for value, n in tally.iter_rows())


def revenue(session: WarehouseSession) -> str:
    row = session.read("select count(*) as orders, sum(revenue) as revenue "
                       "from marts.fct_conversions").row(0, named=True)
    return f"orders {row['orders']:,}, revenue {row['revenue'] or 0:,.2f}"


def subscriptions(session: WarehouseSession) -> str:
    row = session.read("select date_day, mrr, active_clients from reporting.rpt_mrr_daily_total "
                       "order by date_day desc limit 1")
    if row.is_empty():
        return "no MRR day yet"
    day, mrr, clients = row.row(0)
    return f"MRR on {day}: {mrr:,.2f} from {clients:,} active clients"


# the share column of each model a client can be recommended
SHARE = {m: f"share_{m}" for m in ("first_touch", "last_touch", "linear", "time_decay",
                                    "position_based", "markov", "shapley")}


def attribution(session: WarehouseSession) -> str:
    """The largest client by revenue: its recommended model and that model's top channel."""
    share = " ".join(f"when '{m}' then c.{col}" for m, col in SHARE.items())
    row = session.read(
        "with largest as (select client_id, sum(revenue) as revenue from marts.fct_conversions "
        "group by client_id order by revenue desc, client_id limit 1) "
        f"select c.client_id, l.revenue, c.recommended_model, c.channel, "
        f"case c.recommended_model {share} end as share "
        "from analytics.attribution_model_comparison c join largest l on l.client_id = c.client_id "
        "order by share desc nulls last, c.channel limit 1")
    if row.is_empty():
        return "no client with attributed orders"
    client, revenue_, model, channel, top = row.row(0)
    top_text = f"{top:.1%}" if top is not None else "no share"
    return (f"largest client {client} (revenue {revenue_:,.2f}): recommended model {model}, "
            f"top channel {channel} ({top_text})")


def experiments(session: WarehouseSession) -> str:
    """Each experiment's decision (read from its primary-metric rows) and the variants shipped."""
    rows = session.read("select experiment_id, decision, winning_variant "
                        "from analytics.experiment_results where is_primary")
    if rows.is_empty():
        return "no experiment read out"
    decided = rows.group_by("experiment_id").agg(
        pl.col("decision").first(), pl.col("winning_variant").drop_nulls().first()
    ).sort("experiment_id")
    shipped = decided.filter(pl.col("decision") == "ship")
    ship_text = ", ".join(f"{e} ({v})" for e, v in
                          shipped.select("experiment_id", "winning_variant").iter_rows())
    return (f"{decided.height} experiments: {counts(decided, 'decision')}"
            + (f"; ship: {ship_text}" if ship_text else ""))


def customers(session: WarehouseSession) -> str:
    churn = session.read("select client_id, churn_risk from analytics.client_churn_risk")
    clv = session.read("select clv from analytics.customer_clv")
    scored = churn.filter(pl.col("churn_risk").is_not_null())
    riskiest = ""
    if scored.height:
        top = scored.sort(["churn_risk", "client_id"], descending=[True, False]).row(0)
        riskiest = f" (highest: {top[0]}, {top[1]:.2f})"
    valued = clv.filter(pl.col("clv").is_not_null())
    return (f"clients with a churn risk: {scored.height} of {churn.height}{riskiest}; "
            f"end customers with a CLV: {valued.height:,} of {clv.height:,}, "
            f"total CLV {valued['clv'].sum():,.2f}")


def pricing(session: WarehouseSession) -> str:
    recs = session.read("select action from analytics.price_recommendations")
    if exists(session, "ops.pricing_proposals"):
        pending = session.scalar(
            "select count(*) from ops.pricing_proposals where status = 'pending'")
        waiting = f"proposals waiting for review: {pending}"
    else:
        waiting = "proposals waiting for review: 0 (no proposal written yet)"
    return f"recommendations: {counts(recs, 'action') or 'none'}; {waiting}"


def monitoring(session: WarehouseSession) -> str:
    alerts = session.read("select severity from ops.alerts where status = 'open'")
    flagged = session.scalar("select count(*) from analytics.metric_anomalies where status = 'ok'")
    by_severity = f" ({counts(alerts, 'severity')})" if alerts.height else ""
    return f"open alerts: {alerts.height}{by_severity}; anomalies flagged: {flagged}"


def forecasting(session: WarehouseSession) -> str:
    """Series with a forecast (some row ``ok``); the others by status."""
    rows = session.read("select series_id, status from analytics.revenue_forecast")
    series = rows.group_by("series_id").agg(
        ok=(pl.col("status") == "ok").any(), status=pl.col("status").min())
    others = series.filter(~pl.col("ok"))
    rest = f" (the others: {counts(others, 'status')})" if others.height else ""
    return f"revenue series with a forecast: {series['ok'].sum()} of {series.height}{rest}"


def usage(session: WarehouseSession) -> str:
    row = session.read("select sum(hours_saved) as hours, sum(value_saved) as value_ "
                       "from analytics.automation_savings").row(0)
    return f"automation saved {row[0] or 0:,.1f} hours, worth {row[1] or 0:,.2f}"


def performance(session: WarehouseSession) -> str:
    row = session.read("select health, reason from analytics.performance_status "
                       "where component_type = 'overall'")
    if row.is_empty():
        return "no overall status"
    health, reason = row.row(0)
    return f"overall {health}: {reason}"


HEADLINES: dict[str, Headline] = {
    "revenue": revenue,
    "subscriptions": subscriptions,
    "attribution": attribution,
    "experiments": experiments,
    "customers": customers,
    "pricing": pricing,
    "monitoring": monitoring,
    "forecasting": forecasting,
    "usage": usage,
    "performance": performance,
}


def headline(session: WarehouseSession, group: str) -> str | None:
    """The headline of ``group``, None for a group without one; a failed read says so."""
    if group not in HEADLINES:
        return None
    try:
        return HEADLINES[group](session)
    except Exception as error:  # noqa: BLE001 (a missing table must not hide the others)
        return f"(no headline: {type(error).__name__}: {str(error).splitlines()[0]})"
