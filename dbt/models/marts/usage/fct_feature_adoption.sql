with

usage as (

    select * from {{ ref('stg_raw__feature_usage_logs') }}

),

adoption as (

    select
        client_id,
        feature_name,
        count(*) as uses,
        count(distinct user_id) as users,
        count(distinct cast(used_at as date)) as active_days,
        sum(time_saved_minutes) as time_saved_minutes,
        min(used_at) as first_used_at,
        max(used_at) as last_used_at
    from usage
    group by 1, 2

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(feature_name as {{ string_type() }}) as feature_name,
    cast(uses as bigint) as uses,
    cast(users as bigint) as users,
    cast(active_days as bigint) as active_days,
    cast(time_saved_minutes as {{ double_type() }}) as time_saved_minutes,
    cast(first_used_at as timestamp) as first_used_at,
    cast(last_used_at as timestamp) as last_used_at
from adoption
