with

source as (

    select * from {{ source('raw', 'competitor_prices') }}

),

renamed as (

    select
        cast(competitor as {{ string_type() }}) as competitor,
        cast(plan_name as {{ string_type() }}) as plan_name,
        cast(comparable_tier as {{ string_type() }}) as comparable_tier,
        cast(monthly_price as {{ double_type() }}) as monthly_price,
        cast(observed_at as timestamp) as observed_at
    from source

)

select * from renamed
