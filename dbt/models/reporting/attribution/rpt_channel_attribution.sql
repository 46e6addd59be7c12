-- Client x channel x attribution model: attributed conversions and revenue, all models side by side.
-- Rule-based credits are summed here from the warehouse mart; the data-driven models (markov,
-- shapley) and every model's bootstrap interval come from analytics.channel_attribution, written
-- by a Python asset. Before that table exists (e.g. a fresh dbt build) the model still builds,
-- with the rule-based rows only and null intervals. A table like every reporting model, so that
-- row-level security scopes it to one client on PostgreSQL; the reporting step rebuilds it
-- after the attribution assets have run.
{%- set analytics_table = source('analytics', 'channel_attribution') %}
{%- set analytics_relation = load_relation(analytics_table) if execute else none %}
with

rule_based as (

    select
        client_id,
        channel,
        attribution_model,
        sum(credit) as attributed_conversions,
        sum(revenue_credit) as attributed_revenue
    from {{ ref('fct_attribution_touch_credits') }}
    group by client_id, channel, attribution_model

),

analytics as (

    {%- if analytics_relation is not none %}
    select
        client_id,
        channel,
        attribution_model,
        model_family,
        attributed_conversions,
        attributed_revenue,
        conversions_lower,
        conversions_upper,
        revenue_lower,
        revenue_upper,
        status,
        status_message
    from {{ analytics_table }}
    {%- else %}
    select
        cast(null as varchar) as client_id,
        cast(null as varchar) as channel,
        cast(null as varchar) as attribution_model,
        cast(null as varchar) as model_family,
        cast(null as double precision) as attributed_conversions,
        cast(null as double precision) as attributed_revenue,
        cast(null as double precision) as conversions_lower,
        cast(null as double precision) as conversions_upper,
        cast(null as double precision) as revenue_lower,
        cast(null as double precision) as revenue_upper,
        cast(null as varchar) as status,
        cast(null as varchar) as status_message
    where 1 = 0
    {%- endif %}

),

combined as (

    select client_id, channel, attribution_model, 'rule_based' as model_family,
        attributed_conversions, attributed_revenue
    from rule_based
    union all
    select client_id, channel, attribution_model, model_family,
        attributed_conversions, attributed_revenue
    from analytics
    where model_family = 'data_driven'

)

select
    cast(combined.client_id as varchar) as client_id,
    cast(combined.channel as varchar) as channel,
    cast(combined.attribution_model as varchar) as attribution_model,
    cast(combined.model_family as varchar) as model_family,
    cast(combined.attributed_conversions as double precision) as attributed_conversions,
    cast(analytics.conversions_lower as double precision) as conversions_lower,
    cast(analytics.conversions_upper as double precision) as conversions_upper,
    cast(combined.attributed_revenue as double precision) as attributed_revenue,
    cast(analytics.revenue_lower as double precision) as revenue_lower,
    cast(analytics.revenue_upper as double precision) as revenue_upper,
    cast(
        combined.attributed_conversions
        / nullif(sum(combined.attributed_conversions) over (
            partition by combined.client_id, combined.attribution_model
        ), 0) as double precision
    ) as conversion_share,
    cast(coalesce(analytics.status, 'no_intervals') as varchar) as status,
    cast(coalesce(
        analytics.status_message,
        'analytics.channel_attribution has not been built yet: no bootstrap intervals'
    ) as varchar) as status_message
from combined
left join analytics
    on combined.client_id = analytics.client_id
    and combined.channel = analytics.channel
    and combined.attribution_model = analytics.attribution_model
