{%- set scope = {'key': ['usage_date'], 'partition': ['usage_date']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
with

usage as (

    select * from {{ ref('stg_raw__feature_usage_logs') }}
    {%- if is_incremental() %}
    where cast(used_at as date) in (
        {{ loaded_since_last_build(ref('stg_raw__feature_usage_logs'), "cast(used_at as date)") }}
    )
    {%- endif %}

),

daily as (

    select
        client_id,
        feature_name,
        cast(used_at as date) as usage_date,
        count(*) as uses,
        count(distinct user_id) as users,
        sum(duration_seconds) as duration_seconds,
        sum(time_saved_minutes) as time_saved_minutes,
        max(_loaded_at) as loaded_at
    from usage
    group by 1, 2, 3

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(feature_name as {{ string_type() }}) as feature_name,
    cast(usage_date as date) as usage_date,
    cast(uses as bigint) as uses,
    cast(users as bigint) as users,
    cast(duration_seconds as {{ double_type() }}) as duration_seconds,
    cast(time_saved_minutes as {{ double_type() }}) as time_saved_minutes,
    cast(loaded_at as timestamp) as loaded_at,
    {{ utc_now() }} as built_at
from daily
