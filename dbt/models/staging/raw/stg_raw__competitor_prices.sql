with

source as (

    select * from {{ source('raw', 'competitor_prices') }}

),

renamed as (

    select
        cast(competitor as varchar) as competitor,
        cast(plan_name as varchar) as plan_name,
        cast(comparable_tier as varchar) as comparable_tier,
        cast(monthly_price as double precision) as monthly_price,
        cast(observed_at as timestamp) as observed_at
    from source

)

select * from renamed
