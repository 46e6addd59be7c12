{%- set scope = {'key': ['job_date'], 'partition': ['job_date']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
with

jobs as (

    select * from {{ ref('stg_raw__content_generation_jobs') }}
    {%- if is_incremental() %}
    where cast(started_at as date) in (
        {{ loaded_since_last_build(ref('stg_raw__content_generation_jobs'), "cast(started_at as date)") }}
    )
    {%- endif %}

),

daily as (

    select
        client_id,
        cast(started_at as date) as job_date,
        count(*) as jobs,
        sum(case when status = 'succeeded' then 1 else 0 end) as succeeded_jobs,
        sum(case when status = 'failed' then 1 else 0 end) as failed_jobs,
        sum(case when status = 'timeout' then 1 else 0 end) as timeout_jobs,
        avg(quality_score) as avg_quality_score,
        avg({{ seconds_between('started_at', 'finished_at') }}) as avg_duration_seconds,
        max(_loaded_at) as loaded_at
    from jobs
    group by 1, 2

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(job_date as date) as job_date,
    cast(jobs as bigint) as jobs,
    cast(succeeded_jobs as bigint) as succeeded_jobs,
    cast(failed_jobs as bigint) as failed_jobs,
    cast(timeout_jobs as bigint) as timeout_jobs,
    cast(cast(succeeded_jobs as {{ double_type() }}) / jobs as {{ double_type() }}) as success_rate,
    cast(avg_quality_score as {{ double_type() }}) as avg_quality_score,
    cast(avg_duration_seconds as {{ double_type() }}) as avg_duration_seconds,
    cast(loaded_at as timestamp) as loaded_at,
    {{ utc_now() }} as built_at
from daily
