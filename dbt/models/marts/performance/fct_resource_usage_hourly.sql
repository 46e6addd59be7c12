{%- set scope = {'key': ['hour_at'], 'partition': ['hour_at']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
with

usage as (

    select * from {{ ref('stg_raw__resource_usage') }}
    {%- if is_incremental() %}
    where {{ trunc_timestamp('hour', 'minute_at') }} in (
        {{ loaded_since_last_build(ref('stg_raw__resource_usage'), trunc_timestamp('hour', 'minute_at')) }}
    )
    {%- endif %}

),

hourly as (

    select
        {{ trunc_timestamp('hour', 'minute_at') }} as hour_at,
        host,
        count(*) as minutes_observed,
        avg(cpu_pct) as avg_cpu_pct,
        max(cpu_pct) as max_cpu_pct,
        avg(memory_pct) as avg_memory_pct,
        max(memory_pct) as max_memory_pct,
        avg(disk_pct) as avg_disk_pct,
        max(disk_pct) as max_disk_pct,
        avg(queue_depth) as avg_queue_depth,
        max(queue_depth) as max_queue_depth,
        max(_loaded_at) as loaded_at
    from usage
    group by 1, 2

)

select
    cast(hour_at as timestamp) as hour_at,
    cast(host as {{ string_type() }}) as host,
    cast(minutes_observed as bigint) as minutes_observed,
    cast(avg_cpu_pct as {{ double_type() }}) as avg_cpu_pct,
    cast(max_cpu_pct as {{ double_type() }}) as max_cpu_pct,
    cast(avg_memory_pct as {{ double_type() }}) as avg_memory_pct,
    cast(max_memory_pct as {{ double_type() }}) as max_memory_pct,
    cast(avg_disk_pct as {{ double_type() }}) as avg_disk_pct,
    cast(max_disk_pct as {{ double_type() }}) as max_disk_pct,
    cast(avg_queue_depth as {{ double_type() }}) as avg_queue_depth,
    cast(max_queue_depth as bigint) as max_queue_depth,
    cast(loaded_at as timestamp) as loaded_at,
    {{ utc_now() }} as built_at
from hourly
