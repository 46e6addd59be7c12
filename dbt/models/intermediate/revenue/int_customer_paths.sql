-- One row per end-customer journey (see fct_customer_paths, which adds the as-of flags).
-- Incremental by customer, like int_customer_path_touches: a build recomputes every customer with
-- a touch or an order loaded since the last build.
{%- set scope = {'key': ['client_id', 'customer_id'], 'partition': ['client_id']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          post_hook="{{ analyze_relation(this) }}",
          **incremental_scope_config(scope)) }}
{%- set lookback_days = var('attribution_lookback_days') %}
{%- set changed_customers -%}
    {{ loaded_since_last_build(ref('stg_raw__touchpoints'), incremental_scope(scope), 'touches_loaded_at') }}
    union
    {{ loaded_since_last_build(ref('stg_raw__conversions'), incremental_scope(scope), 'conversion_loaded_at') }}
{%- endset %}
with

path_touches as (

    select * from {{ ref('int_customer_path_touches') }}
    {%- if is_incremental() %}
    where ({{ incremental_scope(scope) }}) in ({{ changed_customers }})
        -- a build with another lookback recomputes every journey
        or (select max(lookback_days) from {{ this }}) <> {{ lookback_days }}
    {%- endif %}

),

conversions as (

    select * from {{ ref('stg_raw__conversions') }}
    {%- if is_incremental() %}
    where ({{ incremental_scope(scope) }}) in ({{ changed_customers }})
        -- a build with another lookback recomputes every journey
        or (select max(lookback_days) from {{ this }}) <> {{ lookback_days }}
    {%- endif %}

),

touched_paths as (

    select
        path_id,
        client_id,
        customer_id,
        gap_index,
        conversion_id,
        count(*) as touch_count,
        {{ string_agg_ordered('channel', ' > ', 'touch_position') }} as channel_path,
        min(touched_at) as first_touch_at,
        max(touched_at) as last_touch_at,
        max(touch_loaded_at) as touches_loaded_at
    from path_touches
    group by path_id, client_id, customer_id, gap_index, conversion_id

),

-- orders with no touch in their lookback window still end a journey (of zero touches)
untouched_conversions as (

    select
        conversions.client_id
            || ':' || conversions.customer_id
            || ':' || cast(
                row_number() over (
                    partition by conversions.client_id, conversions.customer_id
                    order by conversions.converted_at, conversions.conversion_id
                ) - 1 as {{ string_type() }}
            ) || ':c' as path_id,
        conversions.conversion_id
    from conversions

),

paths as (

    select path_id, client_id, customer_id, gap_index, conversion_id, touch_count, channel_path,
        first_touch_at, last_touch_at, touches_loaded_at
    from touched_paths
    union all
    select
        untouched_conversions.path_id,
        conversions.client_id,
        conversions.customer_id,
        null as gap_index,
        conversions.conversion_id,
        0 as touch_count,
        null as channel_path,
        null as first_touch_at,
        null as last_touch_at,
        null as touches_loaded_at
    from untouched_conversions
    inner join conversions
        on untouched_conversions.conversion_id = conversions.conversion_id
    -- not exists, not `not in (subquery)`: PostgreSQL runs the latter as a nested loop over a
    -- materialized subquery once it outgrows work_mem (minutes at `small`)
    where not exists (
        select 1 from touched_paths
        where touched_paths.conversion_id = untouched_conversions.conversion_id
    )

),

final as (

    select
        paths.path_id,
        paths.client_id,
        paths.customer_id,
        paths.conversion_id,
        paths.conversion_id is not null as converted,
        coalesce(conversions.revenue, 0) as revenue,
        paths.touch_count,
        paths.channel_path,
        paths.first_touch_at,
        paths.last_touch_at,
        conversions.converted_at,
        coalesce(conversions.converted_at, {{ add_days('paths.last_touch_at', lookback_days) }}) as path_end_at,
        paths.touches_loaded_at,
        conversions._loaded_at as conversion_loaded_at
    from paths
    left join conversions
        on paths.conversion_id = conversions.conversion_id

)

select
    cast(final.path_id as {{ string_type() }}) as path_id,
    cast(final.client_id as {{ string_type() }}) as client_id,
    cast(final.customer_id as {{ string_type() }}) as customer_id,
    cast(final.conversion_id as {{ string_type() }}) as conversion_id,
    cast(
        row_number() over (
            partition by final.client_id, final.customer_id
            order by final.path_end_at, final.converted, final.path_id
        ) as bigint
    ) as path_number,
    cast(final.converted as boolean) as converted,
    cast(final.revenue as {{ double_type() }}) as revenue,
    cast(final.touch_count as bigint) as touch_count,
    cast(final.channel_path as {{ string_type() }}) as channel_path,
    cast({{ lookback_days }} as bigint) as lookback_days,
    cast(final.first_touch_at as timestamp) as first_touch_at,
    cast(final.last_touch_at as timestamp) as last_touch_at,
    cast(final.converted_at as timestamp) as converted_at,
    cast(final.path_end_at as timestamp) as path_end_at,
    cast(final.touches_loaded_at as timestamp) as touches_loaded_at,
    cast(final.conversion_loaded_at as timestamp) as conversion_loaded_at,
    {{ utc_now() }} as built_at
from final
