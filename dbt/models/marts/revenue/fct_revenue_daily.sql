{%- set scope = {'key': ['revenue_date'], 'partition': ['revenue_date']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
with

conversions as (

    select * from {{ ref('stg_raw__conversions') }}
    {%- if is_incremental() %}
    where cast(converted_at as date) in (
        {{ loaded_since_last_build(ref('stg_raw__conversions'), "cast(converted_at as date)") }}
    )
    {%- endif %}

),

daily as (

    select
        client_id,
        cast(converted_at as date) as revenue_date,
        count(*) as orders,
        sum(case when order_type = 'first' then 1 else 0 end) as first_orders,
        sum(case when order_type = 'repeat' then 1 else 0 end) as repeat_orders,
        count(distinct customer_id) as customers,
        sum(revenue) as revenue,
        sum(case when order_type = 'first' then revenue else 0 end) as first_order_revenue,
        sum(case when order_type = 'repeat' then revenue else 0 end) as repeat_order_revenue,
        max(_loaded_at) as loaded_at
    from conversions
    group by 1, 2

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(revenue_date as date) as revenue_date,
    cast(orders as bigint) as orders,
    cast(first_orders as bigint) as first_orders,
    cast(repeat_orders as bigint) as repeat_orders,
    cast(customers as bigint) as customers,
    cast(revenue as {{ double_type() }}) as revenue,
    cast(first_order_revenue as {{ double_type() }}) as first_order_revenue,
    cast(repeat_order_revenue as {{ double_type() }}) as repeat_order_revenue,
    cast(revenue / orders as {{ double_type() }}) as avg_order_value,
    cast(loaded_at as timestamp) as loaded_at,
    {{ utc_now() }} as built_at
from daily
