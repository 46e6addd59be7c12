{{ config(materialized='table') }}
-- A client's own end-customers, one row each, for client-facing BI: the order summary
-- (marts.dim_end_customers) with the RFM scores and segment, the cluster, P(alive), expected
-- purchases and 12-month CLV of the customers domain's Python assets. Before those tables
-- exist (a fresh dbt build) it builds with the order summary only and null analytics columns.
{%- set tables = ['customer_rfm', 'customer_clusters', 'customer_clv'] %}
{%- set present = {} %}
{%- for t in tables %}
    {#- source() outside the condition: dbt records the dependency only from what parsing calls #}
    {%- set relation = source('analytics', t) %}
    {%- do present.update({t: (load_relation(relation) is not none) if execute else false}) %}
{%- endfor %}
with

customers as (

    select * from {{ ref('dim_end_customers') }}

),

rfm as (

    {%- if present['customer_rfm'] %}
    select client_id, customer_id, r_score, f_score, m_score, segment, status
    from {{ source('analytics', 'customer_rfm') }}
    {%- else %}
    select cast(null as varchar) as client_id, cast(null as varchar) as customer_id,
        cast(null as bigint) as r_score, cast(null as bigint) as f_score,
        cast(null as bigint) as m_score, cast(null as varchar) as segment,
        cast(null as varchar) as status
    where 1 = 0
    {%- endif %}

),

clusters as (

    {%- if present['customer_clusters'] %}
    select client_id, customer_id, cluster, cluster_segment
    from {{ source('analytics', 'customer_clusters') }}
    {%- else %}
    select cast(null as varchar) as client_id, cast(null as varchar) as customer_id,
        cast(null as bigint) as cluster, cast(null as varchar) as cluster_segment
    where 1 = 0
    {%- endif %}

),

clv as (

    {%- if present['customer_clv'] %}
    select client_id, customer_id, p_alive, expected_purchases, expected_spend, clv, status
    from {{ source('analytics', 'customer_clv') }}
    {%- else %}
    select cast(null as varchar) as client_id, cast(null as varchar) as customer_id,
        cast(null as double precision) as p_alive,
        cast(null as double precision) as expected_purchases,
        cast(null as double precision) as expected_spend, cast(null as double precision) as clv,
        cast(null as varchar) as status
    where 1 = 0
    {%- endif %}

)

select
    cast(customers.client_id as varchar) as client_id,
    cast(customers.customer_id as varchar) as customer_id,
    cast(rfm.segment as varchar) as rfm_segment,
    cast(rfm.r_score as bigint) as r_score,
    cast(rfm.f_score as bigint) as f_score,
    cast(rfm.m_score as bigint) as m_score,
    cast(clusters.cluster as bigint) as cluster,
    cast(clusters.cluster_segment as varchar) as cluster_segment,
    cast(customers.valid_orders as bigint) as orders,
    cast(customers.total_revenue as double precision) as total_revenue,
    cast(customers.avg_order_value as double precision) as avg_order_value,
    cast(customers.days_since_last_order as bigint) as days_since_last_order,
    cast(clv.p_alive as double precision) as p_alive,
    cast(clv.expected_purchases as double precision) as expected_purchases_90d,
    cast(clv.expected_spend as double precision) as expected_spend,
    cast(clv.clv as double precision) as clv_12m,
    cast(rfm.status as varchar) as rfm_status,
    cast(clv.status as varchar) as clv_status,
    cast(customers.first_order_date as date) as first_order_date,
    cast(customers.last_order_date as date) as last_order_date,
    cast(customers.as_of_date as date) as as_of_date
from customers
left join rfm
    on customers.client_id = rfm.client_id and customers.customer_id = rfm.customer_id
left join clusters
    on customers.client_id = clusters.client_id and customers.customer_id = clusters.customer_id
left join clv
    on customers.client_id = clv.client_id and customers.customer_id = clv.customer_id
