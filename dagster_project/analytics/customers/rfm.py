"""RFM: recency, frequency and monetary scores per client's end-customer, and named segments.

Computed in the warehouse: :func:`rfm_sql` renders one query over ``marts.dim_end_customers``
(portable SQL: DuckDB and PostgreSQL), run by the asset through the Warehouse resource.

- recency: days from the customer's last order with revenue > 0 to the as-of date;
- frequency: orders with revenue > 0;
- monetary: their average order value (or, ``monetary="total_revenue"``, their sum).

Scores, within each client, from 1 (worst) to ``bins`` (best; 5 = quintiles):

    score = 1 + floor(bins * n_worse / n)

with ``n_worse`` the client's customers with a strictly worse value (longer recency, fewer
orders, less money) and ``n`` all of them: the share of the client's customers the customer
beats. A score depends only on the value and the client's distribution, so it is the same
under any row order and identical customers always share it (ties never split: a tied group
takes the score of its first member, as SQL's ``rank``); few distinct values give few distinct
scores (one-order customers, usually most of them, all score F = 1), and a value shared by
everyone scores 1. With distinct values it is the equal-count split (each bin ``n / bins``).
Integer arithmetic up to the final floor, so both warehouses agree exactly.

Segments: the first rule of the rule table (``rfm_segments.yml``, see :mod:`.rules`) whose
score ranges hold. Statuses: ``no_valid_orders`` (every order has revenue <= 0; no scores),
``single_customer`` (the client has one scored customer: no ranking), else ``ok``.
"""

from __future__ import annotations

from pathlib import Path

from .rules import HERE, Rule, load_rules, sql_case

DEFAULT_RULES = HERE / "rfm_segments.yml"
SCORE_COLUMNS = ("recency", "frequency", "monetary")
MONETARY_MEASURES = {"average_order_value": "avg_order_value", "total_revenue": "total_revenue"}


def segment_rules(path: str | Path | None = None) -> list[Rule]:
    """The RFM segment rules (the packaged table unless ``path`` is given)."""
    return load_rules(path or DEFAULT_RULES, SCORE_COLUMNS)


def _score(value: str, bins: int) -> str:
    """Score of ``value`` (larger = better) within the client (see the module docstring)."""
    n_worse = f"(rank() over (partition by client_id order by {value}) - 1)"
    n = "count(*) over (partition by client_id)"
    ratio = f"cast({n_worse} * {bins} as double precision) / cast({n} as double precision)"
    return f"1 + cast(floor({ratio}) as bigint)"


def rfm_sql(bins: int = 5, rules: list[Rule] | None = None,
            monetary: str = "average_order_value",
            source: str = "marts.dim_end_customers") -> str:
    """The RFM query: one row per client x end-customer of ``source``."""
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    if monetary not in MONETARY_MEASURES:
        raise ValueError(f"monetary must be one of {', '.join(MONETARY_MEASURES)}, got {monetary!r}")
    rules = rules or segment_rules()
    scored_cols = {c for r in rules for c, (lo, hi) in r.ranges.items()
                   for b in (lo, hi) if b is not None and not 1 <= b <= bins}
    if scored_cols:
        raise ValueError(f"segment rules use scores outside 1..{bins} for {sorted(scored_cols)}")
    measure = MONETARY_MEASURES[monetary]
    return f"""
with customers as (
    select client_id, customer_id, orders, valid_orders, days_since_last_order,
        total_revenue, avg_order_value, {measure} as monetary_value, as_of_date
    from {source}
),
valid as (
    select *, count(*) over (partition by client_id) as client_customers
    from customers where valid_orders > 0
),
scored as (
    select client_id, customer_id,
        {_score("-days_since_last_order", bins)} as recency,
        {_score("valid_orders", bins)} as frequency,
        {_score("monetary_value", bins)} as monetary,
        client_customers
    from valid
),
segmented as (
    select *, {sql_case(rules)} as segment from scored
)
select
    c.client_id, c.customer_id,
    c.days_since_last_order as recency_days,
    c.valid_orders as frequency_orders,
    c.monetary_value,
    case when s.client_customers > 1 then s.recency end as r_score,
    case when s.client_customers > 1 then s.frequency end as f_score,
    case when s.client_customers > 1 then s.monetary end as m_score,
    case when s.client_customers > 1
        then cast(s.recency as varchar) || cast(s.frequency as varchar)
            || cast(s.monetary as varchar) end as rfm_cell,
    case when s.client_customers > 1 then s.segment end as segment,
    case when s.client_customers is null then 'no_valid_orders'
        when s.client_customers = 1 then 'single_customer' else 'ok' end as status,
    case when s.client_customers is null
            then 'every order of the customer has revenue <= 0: nothing to score'
        when s.client_customers = 1
            then 'the client has a single customer with orders: scores rank customers '
                || 'within a client, so there is nothing to rank against'
        else 'computed' end as status_message,
    c.orders - c.valid_orders as nonpositive_orders,
    c.as_of_date
from customers as c
left join segmented as s on c.client_id = s.client_id and c.customer_id = s.customer_id
"""
