with

source as (

    select * from {{ source('raw', 'experiment_assignments') }}

),

renamed as (

    select
        cast(experiment_id as {{ string_type() }}) as experiment_id,
        cast(unit_id as {{ string_type() }}) as unit_id,
        cast(variant as {{ string_type() }}) as variant,
        cast(assigned_at as timestamp) as assigned_at,
        cast(metric_value as {{ double_type() }}) as metric_value,
        cast(converted as boolean) as converted,
        cast(pre_metric_value as {{ double_type() }}) as pre_metric_value
    from source

)

select * from renamed
