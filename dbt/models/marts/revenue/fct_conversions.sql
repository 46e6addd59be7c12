{%- set scope = {'key': ['client_id', 'customer_id'], 'partition': ['client_id']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
with

conversions as (

    select * from {{ ref('stg_raw__conversions') }}
    {%- if is_incremental() %}
    where ({{ incremental_scope(scope) }}) in (
        {{ loaded_since_last_build(ref('stg_raw__conversions'), incremental_scope(scope)) }}
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
    cast(conversion_id as {{ string_type() }}) as conversion_id,
    cast(client_id as {{ string_type() }}) as client_id,
    cast(customer_id as {{ string_type() }}) as customer_id,
    cast(order_type as {{ string_type() }}) as order_type,
    cast(order_type = 'first' as boolean) as is_first_order,
    cast(customer_order_number as bigint) as customer_order_number,
    cast(revenue as {{ double_type() }}) as revenue,
    cast({{ days_between('previous_converted_at', 'converted_at') }} as bigint) as days_since_previous_order,
    cast(converted_at as date) as converted_date,
    cast(converted_at as timestamp) as converted_at,
    cast(_loaded_at as timestamp) as loaded_at,
    {{ utc_now() }} as built_at
from sequenced
