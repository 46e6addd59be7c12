with

source as (

    select * from {{ source('raw', 'feature_usage_logs') }}

),

renamed as (

    select
        cast(event_id as {{ string_type() }}) as event_id,
        cast(client_id as {{ string_type() }}) as client_id,
        cast(user_id as {{ string_type() }}) as user_id,
        cast(feature_name as {{ string_type() }}) as feature_name,
        cast(platform as {{ string_type() }}) as platform,
        cast({{ adapter.quote('timestamp') }} as timestamp) as used_at,
        cast(duration_seconds as {{ double_type() }}) as duration_seconds,
        cast(time_saved_minutes as {{ double_type() }}) as time_saved_minutes,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
