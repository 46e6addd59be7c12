{{ config(materialized='table') }}
-- One row per client: the business metrics of the current period (the `period_days` days up
-- to the as-of date) against the period before, with the revenue forecast for the period
-- after and the latest churn risk. Every ratio is null where its denominator is 0 (nullif),
-- never an error or an infinity. The definitions are in rpt_client_business_metrics.yml and
-- README (Business metrics). Before the analytics tables exist (a fresh dbt build) the
-- forecast, churn risk and savings value are null and every mart-based metric is built.
-- The analytics tables are read through source_or_empty (typed empty placeholders when absent).
{%- set forecast_source = source('analytics', 'revenue_forecast') %}
{%- set churn_source = source('analytics', 'client_churn_risk') %}
{%- set savings_source = source('analytics', 'automation_savings') %}
{%- set platforms = "'instagram', 'tiktok', 'youtube', 'linkedin', 'twitter', 'facebook'" %}
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

history as (

    select min(activity_date) as first_date from {{ ref('fct_platform_usage_daily') }}

),

-- P = least(period_days, half the days of history): both periods lie inside the data
periods as (

    select
        a.as_of_date,
        cast(least({{ var('business_metrics_period_days') }},
                   floor(({{ days_between('h.first_date', 'a.as_of_date') }} + 1) / 2)) as integer) as period_days
    from as_of as a
    cross join history as h

),

bounds as (

    select
        as_of_date,
        period_days,
        cast({{ add_days('as_of_date', '1 - period_days') }} as date) as period_start,
        as_of_date as period_end,
        cast({{ add_days('as_of_date', '1 - 2 * period_days') }} as date) as prior_period_start,
        cast({{ add_days('as_of_date', '- period_days') }} as date) as prior_period_end
    from periods

),

clients as (

    select client_id from {{ ref('dim_clients') }}

),

revenue as (

    select
        r.client_id,
        sum(case when r.revenue_date >= b.period_start then r.revenue else 0 end) as total_revenue,
        sum(case when r.revenue_date < b.period_start then r.revenue else 0 end) as prior_revenue,
        sum(case when r.revenue_date >= b.period_start then r.orders else 0 end) as orders
    from {{ ref('fct_revenue_daily') }} as r
    cross join bounds as b
    where r.revenue_date between b.prior_period_start and b.period_end
    group by r.client_id

),

social_orders as (

    select distinct t.client_id, t.conversion_id
    from {{ ref('fct_customer_path_touches') }} as t
    where t.converted and t.channel in ({{ platforms }})

),

conversion_revenue as (

    select c.client_id, sum(c.revenue) as conversion_revenue, count(*) as social_conversions
    from {{ ref('fct_conversions') }} as c
    inner join social_orders as s
        on c.client_id = s.client_id and c.conversion_id = s.conversion_id
    cross join bounds as b
    where c.converted_date between b.period_start and b.period_end
    group by c.client_id

),

usage as (

    select
        u.client_id,
        sum(case when u.activity_date >= b.period_start then u.posts_published else 0 end) as posts,
        sum(case when u.activity_date >= b.period_start then u.impressions else 0 end) as impressions,
        sum(case when u.activity_date >= b.period_start then u.reach else 0 end) as reach,
        sum(case when u.activity_date >= b.period_start then u.engagements else 0 end) as engagements,
        sum(case when u.activity_date >= b.period_start then u.shares else 0 end) as shares,
        sum(case when u.activity_date >= b.period_start then u.followers_gained else 0 end) as followers_gained,
        sum(case when u.activity_date < b.period_start then u.engagements else 0 end) as prior_engagements
    from {{ ref('fct_platform_usage_daily') }} as u
    cross join bounds as b
    where u.activity_date between b.prior_period_start and b.period_end
    group by u.client_id

),

spend as (

    select
        s.client_id,
        sum(s.spend) as marketing_spend,
        sum(case when s.channel in ({{ platforms }}) then s.spend else 0 end) as social_spend
    from {{ ref('fct_marketing_spend_daily') }} as s
    cross join bounds as b
    where s.spend_date between b.period_start and b.period_end
    group by s.client_id

),

saved as (

    select t.client_id, sum(t.time_saved_minutes) / 60.0 as hours_saved
    from {{ ref('fct_feature_time_saved_daily') }} as t
    cross join bounds as b
    where t.usage_date between b.period_start and b.period_end
    group by t.client_id

),

spent as (

    select f.client_id, sum(f.duration_seconds) / 3600.0 as feature_hours
    from {{ ref('fct_feature_usage_daily') }} as f
    cross join bounds as b
    where f.usage_date between b.period_start and b.period_end
    group by f.client_id

),

savings as (

    {{ source_or_empty(savings_source, {'hourly_rate': 'double precision'}) }}

),

-- one row, null before analytics.automation_savings exists: it is cross joined below
hourly_rate as (

    select max(hourly_rate) as hourly_rate from savings

),

forecast as (

    {% call source_or_empty(forecast_source, {
        'client_id': 'varchar',
        'predicted_revenue': 'double precision',
        'forecast_days': 'bigint',
        'forecast_end': 'date',
    }) %}
    -- the point forecast is the same at every interval level: read the lowest level's rows
    select f.client_id, sum(f.forecast) as predicted_revenue, count(*) as forecast_days,
        max(f.forecast_date) as forecast_end
    from {{ forecast_source }} as f
    cross join bounds as b
    where f.series_kind = 'client' and f.status = 'ok' and f.horizon_days <= b.period_days
        and f.level = (select min(level) from {{ forecast_source }}
                       where series_kind = 'client' and status = 'ok')
    group by f.client_id
    {% endcall %}

),

churn as (

    {% call source_or_empty(churn_source, {
        'client_id': 'varchar',
        'churn_risk': 'double precision',
        'snapshot_date': 'date',
    }) %}
    select r.client_id, r.churn_risk, r.snapshot_date
    from {{ churn_source }} as r
    inner join (
        select client_id, max(snapshot_date) as snapshot_date
        from {{ churn_source }}
        where status = 'ok'
        group by client_id
    ) as latest on r.client_id = latest.client_id and r.snapshot_date = latest.snapshot_date
    where r.status = 'ok'
    {% endcall %}

),

joined as (

    select
        c.client_id,
        b.period_days,
        b.period_start,
        b.period_end,
        b.prior_period_start,
        b.prior_period_end,
        cast(coalesce(r.total_revenue, 0) as {{ double_type() }}) as total_revenue,
        cast(coalesce(r.prior_revenue, 0) as {{ double_type() }}) as prior_revenue,
        cast(coalesce(r.orders, 0) as bigint) as orders,
        cast(coalesce(cr.conversion_revenue, 0) as {{ double_type() }}) as conversion_revenue,
        cast(coalesce(cr.social_conversions, 0) as bigint) as social_conversions,
        cast(coalesce(u.posts, 0) as bigint) as posts,
        cast(coalesce(u.impressions, 0) as bigint) as impressions,
        cast(coalesce(u.reach, 0) as bigint) as reach,
        cast(coalesce(u.engagements, 0) as bigint) as engagements,
        cast(coalesce(u.prior_engagements, 0) as bigint) as prior_engagements,
        cast(coalesce(u.shares, 0) as bigint) as shares,
        cast(coalesce(u.followers_gained, 0) as bigint) as followers_gained,
        cast(coalesce(s.marketing_spend, 0) as {{ double_type() }}) as marketing_spend,
        cast(coalesce(s.social_spend, 0) as {{ double_type() }}) as social_spend,
        cast(coalesce(sv.hours_saved, 0) as {{ double_type() }}) as automation_hours_saved,
        cast(coalesce(sp.feature_hours, 0) as {{ double_type() }}) as feature_hours_spent,
        hr.hourly_rate,
        f.predicted_revenue as predicted_revenue_next_period,
        f.forecast_days,
        f.forecast_end as next_period_end,
        ch.churn_risk,
        ch.snapshot_date as churn_risk_snapshot_date
    from clients as c
    cross join bounds as b
    cross join hourly_rate as hr
    left join revenue as r on c.client_id = r.client_id
    left join conversion_revenue as cr on c.client_id = cr.client_id
    left join usage as u on c.client_id = u.client_id
    left join spend as s on c.client_id = s.client_id
    left join saved as sv on c.client_id = sv.client_id
    left join spent as sp on c.client_id = sp.client_id
    left join forecast as f on c.client_id = f.client_id
    left join churn as ch on c.client_id = ch.client_id

),

metrics as (

    select
        *,
        (total_revenue - prior_revenue) / nullif(prior_revenue, 0) as revenue_growth,
        total_revenue / nullif(posts, 0) as revenue_per_post,
        cast(engagements as {{ double_type() }}) / nullif(impressions, 0) as engagement_rate,
        cast(engagements - prior_engagements as {{ double_type() }}) / nullif(prior_engagements, 0)
            as engagement_growth,
        (cast(shares as {{ double_type() }}) / nullif(reach, 0))
            * (cast(followers_gained as {{ double_type() }}) / nullif(reach, 0)) as viral_coefficient,
        social_spend / nullif(engagements, 0) as cost_per_engagement,
        (total_revenue - marketing_spend) / nullif(marketing_spend, 0) as roi,
        automation_hours_saved / nullif(automation_hours_saved + feature_hours_spent, 0)
            as time_efficiency_score,
        automation_hours_saved * hourly_rate as automation_value_saved,
        -- the forecast's daily rate against the current period's: the growth signal
        (predicted_revenue_next_period / nullif(forecast_days, 0))
            / nullif(total_revenue / period_days, 0) - 1 as forecast_growth
    from joined

),

potential as (

    select
        *,
        coalesce(forecast_growth, revenue_growth) as growth_signal,
        case
            when coalesce(forecast_growth, revenue_growth) is null then null
            when churn_risk >= {{ var('business_metrics_churn_risk_high') }}
                or coalesce(forecast_growth, revenue_growth) <= -{{ var('business_metrics_growth_threshold') }}
                then 'low'
            when coalesce(forecast_growth, revenue_growth) >= {{ var('business_metrics_growth_threshold') }}
                then 'high'
            else 'medium'
        end as growth_potential
    from metrics

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(period_days as integer) as period_days,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(prior_period_start as date) as prior_period_start,
    cast(prior_period_end as date) as prior_period_end,
    cast(next_period_end as date) as next_period_end,
    total_revenue,
    prior_revenue,
    cast(revenue_growth as {{ double_type() }}) as revenue_growth,
    orders,
    posts,
    cast(revenue_per_post as {{ double_type() }}) as revenue_per_post,
    conversion_revenue,
    social_conversions,
    impressions,
    reach,
    engagements,
    prior_engagements,
    cast(engagement_rate as {{ double_type() }}) as engagement_rate,
    cast(engagement_growth as {{ double_type() }}) as engagement_growth,
    shares,
    followers_gained,
    cast(viral_coefficient as {{ double_type() }}) as viral_coefficient,
    marketing_spend,
    social_spend,
    cast(cost_per_engagement as {{ double_type() }}) as cost_per_engagement,
    cast(roi as {{ double_type() }}) as roi,
    automation_hours_saved,
    feature_hours_spent,
    cast(time_efficiency_score as {{ double_type() }}) as time_efficiency_score,
    hourly_rate,
    cast(automation_value_saved as {{ double_type() }}) as automation_value_saved,
    predicted_revenue_next_period,
    forecast_days,
    churn_risk,
    churn_risk_snapshot_date,
    cast(growth_signal as {{ double_type() }}) as growth_signal,
    cast(growth_potential as {{ string_type() }}) as growth_potential
from potential
