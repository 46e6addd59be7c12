with

source as (

    select * from {{ source('raw', 'subscription_events') }}

),

renamed as (

    select
        cast(event_id as varchar) as event_id,
        cast(client_id as varchar) as client_id,
        cast(event_at as timestamp) as event_at,
        cast(event_type as varchar) as event_type,
        cast(tier as varchar) as tier,
        cast(billing_period as varchar) as billing_period,
        cast(monthly_price as double precision) as monthly_price,
        cast(discount_pct as double precision) as discount_pct,
        cast(price_experiment_id as varchar) as price_experiment_id
    from source

)

select * from renamed
