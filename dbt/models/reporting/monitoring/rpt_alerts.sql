-- Every alert and its lifecycle state (ops.alerts, kept by the alerting pass: open,
-- acknowledged, resolved), for the platform's analysts (bi_reader). The state as of the
-- reporting build: the acknowledge and resolve jobs change ops.alerts in between. Empty before
-- any alert rule has been applied (source_or_empty).
{%- set alerts_source = source('ops', 'alerts') %}
with

alerts as (

    {{ source_or_empty(alerts_source, {
        'alert_key': 'varchar',
        'rule': 'varchar',
        'source': 'varchar',
        'metric': 'varchar',
        'entity': 'varchar',
        'title': 'varchar',
        'severity': 'varchar',
        'escalated': 'boolean',
        'status': 'varchar',
        'occurrences': 'bigint',
        'note': 'varchar',
        'first_seen': 'timestamp',
        'last_seen': 'timestamp',
        'updated_at': 'timestamp',
    }) }}

)

select * from alerts
