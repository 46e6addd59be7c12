with

source as (

    select * from {{ source('raw', 'clients') }}

),

renamed as (

    select
        cast(client_id as varchar) as client_id,
        cast(business_name as varchar) as business_name,
        cast(business_niche as varchar) as business_niche,
        cast(country as varchar) as country,
        cast(signup_at as timestamp) as signup_at,
        cast(acquisition_channel as varchar) as acquisition_channel
    from source

)

select * from renamed
