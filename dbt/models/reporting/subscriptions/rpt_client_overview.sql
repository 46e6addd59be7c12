-- One row per client: the headline of every analytics group, for a client overview dashboard.
-- Revenue (marts.fct_revenue_daily), the top channel under the client's recommended
-- attribution model (analytics.attribution_model_comparison) with its bootstrap interval and
-- whether that interval clears the runner-up's (rpt_channel_attribution), end-customers and
-- their 12-month CLV (rpt_client_customers), the client's experiments and how many have a
-- final decision (rpt_client_experiment_results), and its alerts by state (rpt_client_alerts).
-- Before the analytics tables exist the client and revenue columns are filled and the others
-- are null or zero (source_or_empty).
{%- set comparison_source = source('analytics', 'attribution_model_comparison') %}
with

clients as (

    select * from {{ ref('dim_clients') }}

),

revenue as (

    select
        client_id,
        sum(orders) as orders,
        sum(revenue) as revenue,
        min(revenue_date) as first_revenue_date,
        max(revenue_date) as last_revenue_date
    from {{ ref('fct_revenue_daily') }}
    group by client_id

),

recommended as (

    {% call source_or_empty(comparison_source, {
        'client_id': 'varchar',
        'recommended_model': 'varchar',
        'recommendation_reason': 'varchar',
    }) %}
    select client_id, max(recommended_model) as recommended_model,
        max(recommendation_reason) as recommendation_reason
    from {{ comparison_source }}
    group by client_id
    {% endcall %}

),

ranked_channels as (

    select
        attribution.client_id,
        attribution.channel,
        attribution.attributed_revenue,
        attribution.revenue_lower,
        attribution.revenue_upper,
        attribution.conversion_share,
        row_number() over (
            partition by attribution.client_id
            order by attribution.attributed_revenue desc, attribution.channel
        ) as channel_rank
    from {{ ref('rpt_channel_attribution') }} as attribution
    inner join recommended
        on attribution.client_id = recommended.client_id
        and attribution.attribution_model = recommended.recommended_model
    where attribution.channel <> '(none)'

),

top_channels as (

    select
        top.client_id,
        top.channel as top_channel,
        top.attributed_revenue as top_channel_revenue,
        top.revenue_lower as top_channel_revenue_lower,
        top.revenue_upper as top_channel_revenue_upper,
        top.conversion_share as top_channel_conversion_share,
        runner_up.channel as runner_up_channel,
        runner_up.revenue_upper as runner_up_revenue_upper,
        case
            when runner_up.channel is null then null
            when top.revenue_lower is null or runner_up.revenue_upper is null then null
            else top.revenue_lower > runner_up.revenue_upper
        end as top_channel_is_clear
    from ranked_channels as top
    left join ranked_channels as runner_up
        on top.client_id = runner_up.client_id and runner_up.channel_rank = 2
    where top.channel_rank = 1

),

customers as (

    select client_id, count(*) as end_customers, sum(clv_12m) as clv_12m_total
    from {{ ref('rpt_client_customers') }}
    group by client_id

),

experiments as (

    select
        client_id,
        count(distinct experiment_id) as experiments,
        count(distinct case when is_decided then experiment_id end) as experiments_decided,
        count(distinct case when decision = 'ship' then experiment_id end) as experiments_shipped
    from {{ ref('rpt_client_experiment_results') }}
    group by client_id

),

alerts as (

    select
        client_id,
        sum(case when status = 'open' then 1 else 0 end) as open_alerts,
        sum(case when status = 'acknowledged' then 1 else 0 end) as acknowledged_alerts
    from {{ ref('rpt_client_alerts') }}
    group by client_id

)

select
    cast(clients.client_id as {{ string_type() }}) as client_id,
    cast(clients.business_name as {{ string_type() }}) as business_name,
    cast(clients.current_status as {{ string_type() }}) as current_status,
    cast(clients.current_tier as {{ string_type() }}) as current_tier,
    recommended.recommended_model as recommended_attribution_model,
    cast(top_channels.top_channel as {{ string_type() }}) as top_channel,
    cast(top_channels.runner_up_channel as {{ string_type() }}) as runner_up_channel,
    cast(top_channels.top_channel_is_clear as boolean) as top_channel_is_clear,
    cast(clients.current_mrr as {{ double_type() }}) as current_mrr,
    cast(coalesce(revenue.orders, 0) as bigint) as orders,
    cast(coalesce(revenue.revenue, 0) as {{ double_type() }}) as revenue,
    cast(top_channels.top_channel_revenue as {{ double_type() }}) as top_channel_revenue,
    cast(top_channels.top_channel_revenue_lower as {{ double_type() }}) as top_channel_revenue_lower,
    cast(top_channels.top_channel_revenue_upper as {{ double_type() }}) as top_channel_revenue_upper,
    cast(top_channels.top_channel_conversion_share as {{ double_type() }})
        as top_channel_conversion_share,
    cast(top_channels.runner_up_revenue_upper as {{ double_type() }}) as runner_up_revenue_upper,
    cast(coalesce(customers.end_customers, 0) as bigint) as end_customers,
    cast(customers.clv_12m_total as {{ double_type() }}) as clv_12m_total,
    cast(coalesce(experiments.experiments, 0) as bigint) as experiments,
    cast(coalesce(experiments.experiments_decided, 0) as bigint) as experiments_decided,
    cast(coalesce(experiments.experiments_shipped, 0) as bigint) as experiments_shipped,
    cast(coalesce(alerts.open_alerts, 0) as bigint) as open_alerts,
    cast(coalesce(alerts.acknowledged_alerts, 0) as bigint) as acknowledged_alerts,
    recommended.recommendation_reason,
    cast(revenue.first_revenue_date as date) as first_revenue_date,
    cast(revenue.last_revenue_date as date) as last_revenue_date
from clients
left join revenue on clients.client_id = revenue.client_id
left join recommended on clients.client_id = recommended.client_id
left join top_channels on clients.client_id = top_channels.client_id
left join customers on clients.client_id = customers.client_id
left join experiments on clients.client_id = experiments.client_id
left join alerts on clients.client_id = alerts.client_id
