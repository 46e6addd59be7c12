with

source as (

    select * from {{ source('raw', 'touchpoints') }}

),

renamed as (

    select
        cast(touchpoint_id as varchar) as touchpoint_id,
        cast(client_id as varchar) as client_id,
        cast(customer_id as varchar) as customer_id,
        cast(channel as varchar) as channel,
        cast(campaign_id as varchar) as campaign_id,
        cast(content_id as varchar) as content_id,
        cast(touched_at as timestamp) as touched_at,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
