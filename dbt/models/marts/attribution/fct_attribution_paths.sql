-- Journeys as the data-driven attribution models see them: fct_customer_paths after the channel
-- include/exclude vars (journeys left without a touch and without an order are dropped).
with

paths as (

    select * from {{ ref('fct_customer_paths') }}

),

touches as (

    select * from {{ ref('fct_customer_path_touches') }}
    where 1 = 1 {{ attribution_channel_filter('channel') }}

),

filtered as (

    select
        path_id,
        count(*) as touch_count,
        {{ string_agg_ordered('channel', ' > ', 'touch_position') }} as channel_path
    from touches
    group by path_id

)

select
    cast(paths.path_id as {{ string_type() }}) as path_id,
    cast(paths.client_id as {{ string_type() }}) as client_id,
    cast(paths.customer_id as {{ string_type() }}) as customer_id,
    cast(paths.conversion_id as {{ string_type() }}) as conversion_id,
    cast(paths.converted as boolean) as converted,
    cast(paths.is_window_open as boolean) as is_window_open,
    cast(paths.is_settled as boolean) as is_settled,
    cast(paths.revenue as {{ double_type() }}) as revenue,
    cast(coalesce(filtered.touch_count, 0) as bigint) as touch_count,
    cast(filtered.channel_path as {{ string_type() }}) as channel_path,
    cast(paths.converted_at as timestamp) as converted_at,
    cast(paths.path_end_at as timestamp) as path_end_at
from paths
left join filtered
    on paths.path_id = filtered.path_id
where paths.converted or filtered.path_id is not null
