with

source as (

    select * from {{ source('raw', 'content') }}

),

renamed as (

    select
        cast(content_id as {{ string_type() }}) as content_id,
        cast(client_id as {{ string_type() }}) as client_id,
        cast(platform as {{ string_type() }}) as platform,
        cast(content_type as {{ string_type() }}) as content_type,
        cast(created_at as timestamp) as created_at,
        cast(published_at as timestamp) as published_at,
        cast(automated as boolean) as automated,
        cast(viral_optimized as boolean) as viral_optimized,
        cast(hashtag_count as bigint) as hashtag_count,
        cast(campaign_id as {{ string_type() }}) as campaign_id,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
