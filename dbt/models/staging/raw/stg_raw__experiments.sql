with

source as (

    select * from {{ source('raw', 'experiments') }}

),

renamed as (

    select
        cast(experiment_id as {{ string_type() }}) as experiment_id,
        cast(client_id as {{ string_type() }}) as client_id,
        cast(name as {{ string_type() }}) as experiment_name,
        cast(hypothesis as {{ string_type() }}) as hypothesis,
        cast(kind as {{ string_type() }}) as kind,
        cast(unit_type as {{ string_type() }}) as unit_type,
        cast(primary_metric as {{ string_type() }}) as primary_metric,
        cast(variants as {{ string_type() }}) as variants,
        cast(start_at as timestamp) as start_at,
        cast(end_at as timestamp) as end_at,
        cast(alpha as {{ double_type() }}) as alpha,
        cast(power as {{ double_type() }}) as power,
        cast(mde as {{ double_type() }}) as mde
    from source

)

select * from renamed
