-- Every registered experiment's read-out, one row per experiment x metric x treatment variant:
-- analytics.experiment_results (lifts, intervals, p-values, Bayesian chance, SRM, decision)
-- with the registry's name, kind and owner. Platform-wide experiments have a null owner, so the
-- owner is experiment_client_id, not client_id: this table is for the platform's analysts
-- (bi_reader); a client reads its own experiments in rpt_client_experiment_results. Before the
-- experiments assets have run (a fresh dbt build) it builds empty (source_or_empty).
{%- set results_source = source('analytics', 'experiment_results') %}
{%- set registry_source = source('analytics', 'experiments') %}
with

results as (

    {% call source_or_empty(results_source, {
        'experiment_id': 'varchar',
        'metric': 'varchar',
        'variant': 'varchar',
        'experiment_client_id': 'varchar',
        'experiment_name': 'varchar',
        'kind': 'varchar',
        'metric_type': 'varchar',
        'is_primary': 'boolean',
        'decision': 'varchar',
        'is_decided': 'boolean',
        'winning_variant': 'varchar',
        'decision_reason': 'varchar',
        'n_control': 'bigint',
        'n_treatment': 'bigint',
        'control_mean': 'double precision',
        'treatment_mean': 'double precision',
        'abs_lift': 'double precision',
        'abs_ci_low': 'double precision',
        'abs_ci_high': 'double precision',
        'rel_lift': 'double precision',
        'rel_ci_low': 'double precision',
        'rel_ci_high': 'double precision',
        'p_value': 'double precision',
        'p_holm': 'double precision',
        'p_bh': 'double precision',
        'seq_p_value': 'double precision',
        'chance_to_beat_control': 'double precision',
        'srm_flag': 'boolean',
        'srm_p_value': 'double precision',
        'status': 'varchar',
        'status_message': 'varchar',
        'start_at': 'timestamp',
        'end_at': 'timestamp',
    }, requires=[results_source, registry_source]) %}
    select
        registry.client_id as experiment_client_id,
        registry.experiment_name,
        registry.kind,
        registry.start_at,
        registry.end_at,
        results.*,
        results.decision in ('ship', 'do not ship') as is_decided
    from {{ results_source }} as results
    inner join {{ registry_source }} as registry
        on results.experiment_id = registry.experiment_id
    {% endcall %}

)

select * from results
