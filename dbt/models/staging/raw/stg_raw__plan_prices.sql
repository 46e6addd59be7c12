with

source as (

    select * from {{ source('raw', 'plan_prices') }}

),

renamed as (

    select
        cast(tier as varchar) as tier,
        cast(monthly_price as double precision) as monthly_price,
        cast(effective_from as timestamp) as effective_from,
        cast(effective_to as timestamp) as effective_to,
        cast(source as varchar) as source
    from source

)

select * from renamed
