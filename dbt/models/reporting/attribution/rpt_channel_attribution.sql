-- Client x channel x attribution model: attributed conversions and revenue, all models side by side.
-- Rule-based credits are summed here from the warehouse mart; the data-driven models (markov,
-- shapley) and every model's bootstrap interval come from analytics.channel_attribution, written
-- by a Python asset. Before that table exists (e.g. a fresh dbt build) the model still builds,
-- with the rule-based rows only and null intervals (source_or_empty types the analytics
-- columns). A table like every reporting model, so that row-level security scopes it to one
-- client on PostgreSQL; the reporting step rebuilds it after the attribution assets have run.
{%- set analytics_table = source('analytics', 'channel_attribution') %}
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

    {{ source_or_empty(analytics_table, {
        'client_id': 'varchar',
        'channel': 'varchar',
        'attribution_model': 'varchar',
        'model_family': 'varchar',
        'attributed_conversions': 'double precision',
        'attributed_revenue': 'double precision',
        'conversions_lower': 'double precision',
        'conversions_upper': 'double precision',
        'revenue_lower': 'double precision',
        'revenue_upper': 'double precision',
        'status': 'varchar',
        'status_message': 'varchar',
    }) }}

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
    cast(combined.client_id as {{ string_type() }}) as client_id,
    cast(combined.channel as {{ string_type() }}) as channel,
    cast(combined.attribution_model as {{ string_type() }}) as attribution_model,
    cast(combined.model_family as {{ string_type() }}) as model_family,
    cast(combined.attributed_conversions as {{ double_type() }}) as attributed_conversions,
    analytics.conversions_lower,
    analytics.conversions_upper,
    cast(combined.attributed_revenue as {{ double_type() }}) as attributed_revenue,
    analytics.revenue_lower,
    analytics.revenue_upper,
    cast(
        combined.attributed_conversions
        / nullif(sum(combined.attributed_conversions) over (
            partition by combined.client_id, combined.attribution_model
        ), 0) as {{ double_type() }}
    ) as conversion_share,
    cast(coalesce(analytics.status, 'no_intervals') as {{ string_type() }}) as status,
    cast(coalesce(
        analytics.status_message,
        'analytics.channel_attribution has not been built yet: no bootstrap intervals'
    ) as {{ string_type() }}) as status_message
from combined
left join analytics
    on combined.client_id = analytics.client_id
    and combined.channel = analytics.channel
    and combined.attribution_model = analytics.attribution_model
