-- Every registered experiment's read-out, one row per experiment x metric x treatment variant:
-- analytics.experiment_results (lifts, intervals, p-values, Bayesian chance, SRM, decision)
-- with the registry's name, kind and owner. Platform-wide experiments have a null owner, so the
-- owner is experiment_client_id, not client_id: this table is for the platform's analysts
-- (bi_reader); a client reads its own experiments in rpt_client_experiment_results. Before the
-- experiments assets have run (a fresh dbt build) it builds empty.
{%- set tables = ['experiments', 'experiment_results'] %}
{%- set present = {} %}
{%- for t in tables %}
    {#- source() outside the condition: dbt records the dependency only from what parsing calls #}
    {%- set relation = source('analytics', t) %}
    {%- do present.update({t: (load_relation(relation) is not none) if execute else false}) %}
{%- endfor %}
with

results as (

    {%- if present['experiments'] and present['experiment_results'] %}
    select
        registry.client_id as experiment_client_id,
        registry.experiment_name,
        registry.kind,
        registry.start_at,
        registry.end_at,
        results.*
    from {{ source('analytics', 'experiment_results') }} as results
    inner join {{ source('analytics', 'experiments') }} as registry
        on results.experiment_id = registry.experiment_id
    {%- else %}
    select cast(null as varchar) as experiment_client_id, cast(null as varchar) as experiment_name,
        cast(null as varchar) as kind, cast(null as timestamp) as start_at,
        cast(null as timestamp) as end_at, cast(null as varchar) as experiment_id,
        cast(null as varchar) as metric, cast(null as varchar) as variant,
        cast(null as varchar) as metric_type, cast(null as boolean) as is_primary,
        cast(null as double precision) as n_control, cast(null as double precision) as n_treatment,
        cast(null as double precision) as control_mean,
        cast(null as double precision) as treatment_mean,
        cast(null as double precision) as abs_lift, cast(null as double precision) as abs_ci_low,
        cast(null as double precision) as abs_ci_high, cast(null as double precision) as rel_lift,
        cast(null as double precision) as rel_ci_low, cast(null as double precision) as rel_ci_high,
        cast(null as double precision) as p_value, cast(null as double precision) as p_holm,
        cast(null as double precision) as p_bh, cast(null as double precision) as seq_p_value,
        cast(null as double precision) as chance_to_beat_control,
        cast(null as boolean) as srm_flag, cast(null as double precision) as srm_p_value,
        cast(null as varchar) as decision, cast(null as varchar) as decision_reason,
        cast(null as varchar) as winning_variant, cast(null as varchar) as status,
        cast(null as varchar) as status_message
    where 1 = 0
    {%- endif %}

)

select
    cast(experiment_id as varchar) as experiment_id,
    cast(metric as varchar) as metric,
    cast(variant as varchar) as variant,
    cast(experiment_client_id as varchar) as experiment_client_id,
    cast(experiment_name as varchar) as experiment_name,
    cast(kind as varchar) as kind,
    cast(metric_type as varchar) as metric_type,
    cast(is_primary as boolean) as is_primary,
    cast(decision as varchar) as decision,
    cast(decision in ('ship', 'do not ship') as boolean) as is_decided,
    cast(winning_variant as varchar) as winning_variant,
    cast(decision_reason as varchar) as decision_reason,
    cast(n_control as bigint) as n_control,
    cast(n_treatment as bigint) as n_treatment,
    cast(control_mean as double precision) as control_mean,
    cast(treatment_mean as double precision) as treatment_mean,
    cast(abs_lift as double precision) as abs_lift,
    cast(abs_ci_low as double precision) as abs_ci_low,
    cast(abs_ci_high as double precision) as abs_ci_high,
    cast(rel_lift as double precision) as rel_lift,
    cast(rel_ci_low as double precision) as rel_ci_low,
    cast(rel_ci_high as double precision) as rel_ci_high,
    cast(p_value as double precision) as p_value,
    cast(p_holm as double precision) as p_holm,
    cast(p_bh as double precision) as p_bh,
    cast(seq_p_value as double precision) as seq_p_value,
    cast(chance_to_beat_control as double precision) as chance_to_beat_control,
    cast(srm_flag as boolean) as srm_flag,
    cast(srm_p_value as double precision) as srm_p_value,
    cast(status as varchar) as status,
    cast(status_message as varchar) as status_message,
    cast(start_at as timestamp) as start_at,
    cast(end_at as timestamp) as end_at
from results
