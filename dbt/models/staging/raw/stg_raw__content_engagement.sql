with

source as (

    select * from {{ source('raw', 'content_engagement') }}

),

renamed as (

    select
        cast(content_id as {{ string_type() }}) as content_id,
        cast(client_id as {{ string_type() }}) as client_id,
        cast(platform as {{ string_type() }}) as platform,
        cast(observed_date as date) as observed_date,
        cast(impressions as bigint) as impressions,
        cast(reach as bigint) as reach,
        cast(likes as bigint) as likes,
        cast(comments as bigint) as comments,
        cast(shares as bigint) as shares,
        cast(saves as bigint) as saves,
        cast(clicks as bigint) as clicks,
        cast(followers_gained as bigint) as followers_gained,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
