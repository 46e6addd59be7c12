with

source as (

    select * from {{ source('raw', 'conversions') }}

),

renamed as (

    select
        cast(conversion_id as {{ string_type() }}) as conversion_id,
        cast(client_id as {{ string_type() }}) as client_id,
        cast(customer_id as {{ string_type() }}) as customer_id,
        cast(converted_at as timestamp) as converted_at,
        cast(revenue as {{ double_type() }}) as revenue,
        cast(order_type as {{ string_type() }}) as order_type,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
