{%- set scope = {'key': ['hour_at'], 'partition': ['hour_at']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
-- Per-minute percentiles cannot be re-aggregated exactly; the hour's are defined as:
--   p50 = request-weighted mean of the minute medians (plain mean when the hour had no request),
--   p95 = continuous 95th percentile of the minute p95 values (one value per minute),
--   p99 = maximum of the minute p99 values (an upper bound of the hour's true p99).
with

requests as (

    select * from {{ ref('stg_raw__api_requests') }}
    {%- if is_incremental() %}
    where {{ trunc_timestamp('hour', 'minute_at') }} in (
        {{ loaded_since_last_build(ref('stg_raw__api_requests'), trunc_timestamp('hour', 'minute_at')) }}
    )
    {%- endif %}

),

hourly as (

    select
        {{ trunc_timestamp('hour', 'minute_at') }} as hour_at,
        service,
        endpoint,
        count(*) as minutes_observed,
        sum(requests) as requests,
        sum(errors) as errors,
        coalesce(
            sum(latency_p50_ms * requests) / nullif(sum(requests), 0),
            avg(latency_p50_ms)
        ) as latency_p50_ms,
        {{ percentile_cont(0.95, 'latency_p95_ms') }} as latency_p95_ms,
        max(latency_p99_ms) as latency_p99_ms,
        max(_loaded_at) as loaded_at
    from requests
    group by 1, 2, 3

)

select
    cast(hour_at as timestamp) as hour_at,
    cast(service as {{ string_type() }}) as service,
    cast(endpoint as {{ string_type() }}) as endpoint,
    cast(minutes_observed as bigint) as minutes_observed,
    cast(requests as bigint) as requests,
    cast(errors as bigint) as errors,
    cast(cast(errors as {{ double_type() }}) / nullif(requests, 0) as {{ double_type() }}) as error_rate,
    cast(1 - cast(errors as {{ double_type() }}) / nullif(requests, 0) as {{ double_type() }}) as availability,
    cast(latency_p50_ms as {{ double_type() }}) as latency_p50_ms,
    cast(latency_p95_ms as {{ double_type() }}) as latency_p95_ms,
    cast(latency_p99_ms as {{ double_type() }}) as latency_p99_ms,
    cast(loaded_at as timestamp) as loaded_at,
    {{ utc_now() }} as built_at
from hourly
