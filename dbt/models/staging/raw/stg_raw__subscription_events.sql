with

source as (

    select * from {{ source('raw', 'subscription_events') }}

),

renamed as (

    select
        cast(event_id as {{ string_type() }}) as event_id,
        cast(client_id as {{ string_type() }}) as client_id,
        cast(event_at as timestamp) as event_at,
        cast(event_type as {{ string_type() }}) as event_type,
        cast(tier as {{ string_type() }}) as tier,
        cast(billing_period as {{ string_type() }}) as billing_period,
        cast(monthly_price as {{ double_type() }}) as monthly_price,
        cast(discount_pct as {{ double_type() }}) as discount_pct,
        cast(price_experiment_id as {{ string_type() }}) as price_experiment_id
    from source

)

select * from renamed
