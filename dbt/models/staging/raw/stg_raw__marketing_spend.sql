with

source as (

    select * from {{ source('raw', 'marketing_spend') }}

),

renamed as (

    select
        cast(client_id as varchar) as client_id,
        cast(channel as varchar) as channel,
        cast(campaign_id as varchar) as campaign_id,
        cast(spend_date as date) as spend_date,
        cast(spend as double precision) as spend,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
