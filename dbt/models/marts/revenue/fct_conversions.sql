{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['client_id', 'customer_id'], on_schema_change='fail') }}
with

conversions as (

    select * from {{ ref('stg_raw__conversions') }}
    {%- if is_incremental() %}
    where (client_id, customer_id) in (
        {{ loaded_since_last_build(ref('stg_raw__conversions'), 'client_id, customer_id') }}
    )
    {%- endif %}

),

sequenced as (

    select
        *,
        row_number() over w as customer_order_number,
        lag(converted_at) over w as previous_converted_at
    from conversions
    window w as (partition by client_id, customer_id order by converted_at, conversion_id)

)

select
    cast(conversion_id as varchar) as conversion_id,
    cast(client_id as varchar) as client_id,
    cast(customer_id as varchar) as customer_id,
    cast(order_type as varchar) as order_type,
    cast(order_type = 'first' as boolean) as is_first_order,
    cast(customer_order_number as bigint) as customer_order_number,
    cast(revenue as double precision) as revenue,
    cast({{ days_between('previous_converted_at', 'converted_at') }} as bigint) as days_since_previous_order,
    cast(converted_at as date) as converted_date,
    cast(converted_at as timestamp) as converted_at,
    cast(_loaded_at as timestamp) as loaded_at,
    {{ utc_now() }} as built_at
from sequenced
