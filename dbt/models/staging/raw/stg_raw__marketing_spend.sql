with

source as (

    select * from {{ source('raw', 'marketing_spend') }}

),

renamed as (

    select
        cast(client_id as {{ string_type() }}) as client_id,
        cast(channel as {{ string_type() }}) as channel,
        cast(campaign_id as {{ string_type() }}) as campaign_id,
        cast(spend_date as date) as spend_date,
        cast(spend as {{ double_type() }}) as spend,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
