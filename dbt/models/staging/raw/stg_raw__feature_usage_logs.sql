with

source as (

    select * from {{ source('raw', 'feature_usage_logs') }}

),

renamed as (

    select
        cast(event_id as varchar) as event_id,
        cast(client_id as varchar) as client_id,
        cast(user_id as varchar) as user_id,
        cast(feature_name as varchar) as feature_name,
        cast(platform as varchar) as platform,
        cast("timestamp" as timestamp) as used_at,
        cast(duration_seconds as double precision) as duration_seconds,
        cast(time_saved_minutes as double precision) as time_saved_minutes,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
