-- The alerts about one client, for client-facing BI: the rows of rpt_alerts whose entity is a
-- client id (the client-scoped metrics of the monitoring catalog, e.g. client_daily_revenue,
-- have the client id as their entity). A table keyed by client_id, so that PostgreSQL
-- row-level security scopes it to one client.
select
    cast(clients.client_id as {{ string_type() }}) as client_id,
    alerts.alert_key,
    alerts.rule,
    alerts.source,
    alerts.metric,
    alerts.title,
    alerts.severity,
    alerts.escalated,
    alerts.status,
    alerts.occurrences,
    alerts.note,
    alerts.first_seen,
    alerts.last_seen,
    alerts.updated_at
from {{ ref('rpt_alerts') }} as alerts
inner join {{ ref('dim_clients') }} as clients
    on alerts.entity = clients.client_id
