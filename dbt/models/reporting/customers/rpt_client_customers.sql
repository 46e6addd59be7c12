{{ config(materialized='table') }}
-- A client's own end-customers, one row each, for client-facing BI: the order summary
-- (marts.dim_end_customers) with the RFM scores and segment, the cluster, P(alive), expected
-- purchases and 12-month CLV of the customers domain's Python assets. Before those tables
-- exist (a fresh dbt build) it builds with the order summary only and null analytics columns
-- (source_or_empty types them).
{%- set rfm_source = source('analytics', 'customer_rfm') %}
{%- set clusters_source = source('analytics', 'customer_clusters') %}
{%- set clv_source = source('analytics', 'customer_clv') %}
with

customers as (

    select * from {{ ref('dim_end_customers') }}

),

rfm as (

    {{ source_or_empty(rfm_source, {
        'client_id': 'varchar',
        'customer_id': 'varchar',
        'r_score': 'bigint',
        'f_score': 'bigint',
        'm_score': 'bigint',
        'segment': 'varchar',
        'status': 'varchar',
    }) }}

),

clusters as (

    {{ source_or_empty(clusters_source, {
        'client_id': 'varchar',
        'customer_id': 'varchar',
        'cluster': 'bigint',
        'cluster_segment': 'varchar',
    }) }}

),

clv as (

    {{ source_or_empty(clv_source, {
        'client_id': 'varchar',
        'customer_id': 'varchar',
        'p_alive': 'double precision',
        'expected_purchases': 'double precision',
        'expected_spend': 'double precision',
        'clv': 'double precision',
        'status': 'varchar',
    }) }}

)

select
    cast(customers.client_id as {{ string_type() }}) as client_id,
    cast(customers.customer_id as {{ string_type() }}) as customer_id,
    rfm.segment as rfm_segment,
    rfm.r_score,
    rfm.f_score,
    rfm.m_score,
    clusters.cluster,
    clusters.cluster_segment,
    cast(customers.valid_orders as bigint) as orders,
    cast(customers.total_revenue as {{ double_type() }}) as total_revenue,
    cast(customers.avg_order_value as {{ double_type() }}) as avg_order_value,
    cast(customers.days_since_last_order as bigint) as days_since_last_order,
    clv.p_alive,
    clv.expected_purchases as expected_purchases_90d,
    clv.expected_spend,
    clv.clv as clv_12m,
    rfm.status as rfm_status,
    clv.status as clv_status,
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
