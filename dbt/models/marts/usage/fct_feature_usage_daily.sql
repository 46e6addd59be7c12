with

usage as (

    select * from {{ ref('stg_raw__feature_usage_logs') }}

),

daily as (

    select
        client_id,
        feature_name,
        cast(used_at as date) as usage_date,
        count(*) as uses,
        count(distinct user_id) as users,
        sum(duration_seconds) as duration_seconds,
        sum(time_saved_minutes) as time_saved_minutes
    from usage
    group by 1, 2, 3

)

select
    cast(client_id as varchar) as client_id,
    cast(feature_name as varchar) as feature_name,
    cast(usage_date as date) as usage_date,
    cast(uses as bigint) as uses,
    cast(users as bigint) as users,
    cast(duration_seconds as double precision) as duration_seconds,
    cast(time_saved_minutes as double precision) as time_saved_minutes
from daily
