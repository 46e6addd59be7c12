with

source as (

    select * from {{ source('raw', 'plan_prices') }}

),

renamed as (

    select
        cast(tier as {{ string_type() }}) as tier,
        cast(monthly_price as {{ double_type() }}) as monthly_price,
        cast(effective_from as timestamp) as effective_from,
        cast(effective_to as timestamp) as effective_to,
        cast(source as {{ string_type() }}) as source
    from source

)

select * from renamed
