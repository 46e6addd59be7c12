with

source as (

    select * from {{ source('raw', 'conversions') }}

),

renamed as (

    select
        cast(conversion_id as varchar) as conversion_id,
        cast(client_id as varchar) as client_id,
        cast(customer_id as varchar) as customer_id,
        cast(converted_at as timestamp) as converted_at,
        cast(revenue as double precision) as revenue,
        cast(order_type as varchar) as order_type,
        cast(_loaded_at as timestamp) as _loaded_at
    from source

)

select * from renamed
