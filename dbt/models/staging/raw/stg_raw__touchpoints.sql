with

source as (

    select * from {{ source('raw', 'touchpoints') }}

),

renamed as (

    select
        cast(touchpoint_id as {{ string_type() }}) as touchpoint_id,
        cast(client_id as {{ string_type() }}) as client_id,
        cast(customer_id as {{ string_type() }}) as customer_id,
        cast(channel as {{ string_type() }}) as channel,
        cast(campaign_id as {{ string_type() }}) as campaign_id,
        cast(content_id as {{ string_type() }}) as content_id,
        cast(touched_at as timestamp) as touched_at,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
