with

source as (

    select * from {{ source('raw', 'clients') }}

),

renamed as (

    select
        cast(client_id as {{ string_type() }}) as client_id,
        cast(business_name as {{ string_type() }}) as business_name,
        cast(business_niche as {{ string_type() }}) as business_niche,
        cast(country as {{ string_type() }}) as country,
        cast(signup_at as timestamp) as signup_at,
        cast(acquisition_channel as {{ string_type() }}) as acquisition_channel
    from source

)

select * from renamed
