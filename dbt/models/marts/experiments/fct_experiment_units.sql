with

assignments as (

    select * from {{ ref('stg_raw__experiment_assignments') }}

),

experiments as (

    select
        *,
        {{ json_array_field('variants', 0, 'name') }} as control_variant
    from {{ ref('stg_raw__experiments') }}

)

select
    cast(assignments.experiment_id as {{ string_type() }}) as experiment_id,
    cast(assignments.unit_id as {{ string_type() }}) as unit_id,
    cast(experiments.client_id as {{ string_type() }}) as experiment_client_id,
    cast(experiments.kind as {{ string_type() }}) as experiment_kind,
    cast(experiments.unit_type as {{ string_type() }}) as unit_type,
    cast(assignments.variant as {{ string_type() }}) as variant,
    cast(assignments.variant = experiments.control_variant as boolean) as is_control,
    cast(assignments.converted as boolean) as converted,
    cast(assignments.metric_value as {{ double_type() }}) as metric_value,
    cast(assignments.pre_metric_value as {{ double_type() }}) as pre_metric_value,
    cast(assignments.assigned_at as date) as assigned_date,
    cast(assignments.assigned_at as timestamp) as assigned_at
from assignments
left join experiments
    on assignments.experiment_id = experiments.experiment_id
