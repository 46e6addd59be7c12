with

source as (

    select * from {{ source('raw', 'experiments') }}

),

renamed as (

    select
        cast(experiment_id as varchar) as experiment_id,
        cast(client_id as varchar) as client_id,
        cast(name as varchar) as experiment_name,
        cast(hypothesis as varchar) as hypothesis,
        cast(kind as varchar) as kind,
        cast(unit_type as varchar) as unit_type,
        cast(primary_metric as varchar) as primary_metric,
        cast(variants as varchar) as variants,
        cast(start_at as timestamp) as start_at,
        cast(end_at as timestamp) as end_at,
        cast(alpha as double precision) as alpha,
        cast(power as double precision) as power,
        cast(mde as double precision) as mde
    from source

)

select * from renamed
