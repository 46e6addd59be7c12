-- Every alert and its lifecycle state (ops.alerts, kept by the alerting pass: open,
-- acknowledged, resolved), for the platform's analysts (bi_reader). The state as of the
-- reporting build: the acknowledge and resolve jobs change ops.alerts in between. Empty before
-- any alert rule has been applied.
{%- set alerts_source = source('ops', 'alerts') %}
{%- set present = (load_relation(alerts_source) is not none) if execute else false %}
with

alerts as (

    {%- if present %}
    select alert_key, rule, source, metric, entity, title, severity, escalated, status,
        occurrences, note, first_seen, last_seen, updated_at
    from {{ alerts_source }}
    {%- else %}
    select cast(null as varchar) as alert_key, cast(null as varchar) as rule,
        cast(null as varchar) as source, cast(null as varchar) as metric,
        cast(null as varchar) as entity, cast(null as varchar) as title,
        cast(null as varchar) as severity, cast(null as boolean) as escalated,
        cast(null as varchar) as status, cast(null as bigint) as occurrences,
        cast(null as varchar) as note, cast(null as timestamp) as first_seen,
        cast(null as timestamp) as last_seen, cast(null as timestamp) as updated_at
    where 1 = 0
    {%- endif %}

)

select
    cast(alert_key as varchar) as alert_key,
    cast(rule as varchar) as rule,
    cast(source as varchar) as source,
    cast(metric as varchar) as metric,
    cast(entity as varchar) as entity,
    cast(title as varchar) as title,
    cast(severity as varchar) as severity,
    cast(escalated as boolean) as escalated,
    cast(status as varchar) as status,
    cast(occurrences as bigint) as occurrences,
    cast(note as varchar) as note,
    cast(first_seen as timestamp) as first_seen,
    cast(last_seen as timestamp) as last_seen,
    cast(updated_at as timestamp) as updated_at
from alerts
