-- The journeys of int_customer_paths with what depends on the as-of date: whether a
-- non-converting journey's window is still open and whether its outcome is settled. A view, so
-- the flags follow the as-of date without rebuilding the journeys.
{{ config(materialized='view') }}
{%- set lookback_days = var('attribution_lookback_days') %}
with

paths as (

    select * from {{ ref('int_customer_paths') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

)

select
    cast(paths.path_id as {{ string_type() }}) as path_id,
    cast(paths.client_id as {{ string_type() }}) as client_id,
    cast(paths.customer_id as {{ string_type() }}) as customer_id,
    cast(paths.conversion_id as {{ string_type() }}) as conversion_id,
    cast(paths.path_number as bigint) as path_number,
    cast(paths.converted as boolean) as converted,
    cast(
        not paths.converted and paths.path_end_at >= {{ add_days('as_of.as_of_date', 1) }}
        as boolean
    ) as is_window_open,
    cast(
        paths.last_touch_at is null
        or {{ add_days('paths.last_touch_at', lookback_days) }} < {{ add_days('as_of.as_of_date', 1) }}
        as boolean
    ) as is_settled,
    cast(paths.revenue as {{ double_type() }}) as revenue,
    cast(paths.touch_count as bigint) as touch_count,
    cast(paths.channel_path as {{ string_type() }}) as channel_path,
    cast(paths.lookback_days as bigint) as lookback_days,
    cast(paths.first_touch_at as timestamp) as first_touch_at,
    cast(paths.last_touch_at as timestamp) as last_touch_at,
    cast(paths.converted_at as timestamp) as converted_at,
    cast(paths.path_end_at as timestamp) as path_end_at,
    cast(paths.built_at as timestamp) as built_at
from paths
cross join as_of
