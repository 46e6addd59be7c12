with

source as (

    select * from {{ source('raw', 'experiment_assignments') }}

),

renamed as (

    select
        cast(experiment_id as varchar) as experiment_id,
        cast(unit_id as varchar) as unit_id,
        cast(variant as varchar) as variant,
        cast(assigned_at as timestamp) as assigned_at,
        cast(metric_value as double precision) as metric_value,
        cast(converted as boolean) as converted,
        cast(pre_metric_value as double precision) as pre_metric_value
    from source

)

select * from renamed
