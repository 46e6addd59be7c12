-- One row per client x snapshot date (every month end up to the as-of date, and the as-of date
-- itself) at which the client is a trial or paying subscriber: what was known at the end of
-- that day (usage, engagement, billing, tier history) and whether it cancelled in the next 30
-- days. Every feature reads only rows dated on or before the snapshot, so a model trained on
-- these rows never sees the future; the label is null where the 30 days are not over yet.
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

states as (

    select * from {{ ref('int_client_daily_states') }}

),

events as (

    select * from {{ ref('fct_subscription_events') }}

),

days as (

    select date_day
    from {{ date_spine(
        '(select min(valid_from_date) from ' ~ ref('int_client_daily_states') ~ ')',
        '(select as_of_date from ' ~ ref('int_as_of_date') ~ ')'
    ) }} as spine

),

snapshots as (

    select days.date_day as snapshot_date, as_of.as_of_date
    from days
    cross join as_of
    where extract(day from {{ add_days('days.date_day', 1) }}) = 1
        or days.date_day = as_of.as_of_date

),

-- tiers ranked by launch list price: the headroom is the number of tiers above
tier_prices as (

    select
        tier,
        monthly_price as launch_price,
        row_number() over (partition by tier order by valid_from) as price_seq
    from {{ ref('fct_price_history') }}

),

tiers as (

    select
        tier,
        launch_price,
        rank() over (order by launch_price) as tier_rank,
        count(*) over () as tier_count
    from tier_prices
    where price_seq = 1

),

in_force as (

    select
        snapshots.snapshot_date,
        snapshots.as_of_date,
        states.client_id,
        states.tier,
        states.status,
        states.billing_period,
        states.mrr
    from snapshots
    inner join states
        on states.valid_from_date <= snapshots.snapshot_date
        and (states.valid_to_date is null or snapshots.snapshot_date < states.valid_to_date)
    where states.status in ('trial', 'active')

),

first_events as (

    select client_id, tier as signup_tier, monthly_price as signup_price
    from events
    where event_seq = 1

),

history as (

    select
        in_force.client_id,
        in_force.snapshot_date,
        sum(case when events.event_type = 'upgrade' then 1 else 0 end) as upgrades,
        sum(case when events.event_type = 'downgrade' then 1 else 0 end) as downgrades,
        sum(case when events.event_type = 'cancel' then 1 else 0 end) as past_cancellations,
        min(case when events.status = 'active' then events.event_at end) as first_paid_at,
        max(events.event_seq) as last_event_seq
    from in_force
    inner join events
        on events.client_id = in_force.client_id
        and cast(events.event_at as date) <= in_force.snapshot_date
    group by in_force.client_id, in_force.snapshot_date

),

latest_event as (

    select history.client_id, history.snapshot_date, events.discount_pct, events.monthly_price
    from history
    inner join events
        on events.client_id = history.client_id and events.event_seq = history.last_event_seq

),

churn_next as (

    select in_force.client_id, in_force.snapshot_date, count(*) as cancels
    from in_force
    inner join events
        on events.client_id = in_force.client_id
        and events.event_type = 'cancel'
        and cast(events.event_at as date) > in_force.snapshot_date
        and cast(events.event_at as date) <= cast({{ add_days('in_force.snapshot_date', 30) }} as date)
    group by in_force.client_id, in_force.snapshot_date

),

feature_use as (

    select
        in_force.client_id,
        in_force.snapshot_date,
        sum(case when usage.usage_date > cast({{ add_days('in_force.snapshot_date', -30) }} as date)
            then usage.uses else 0 end) as feature_uses_30d,
        sum(case when usage.usage_date <= cast({{ add_days('in_force.snapshot_date', -30) }} as date)
            then usage.uses else 0 end) as feature_uses_prev_30d,
        sum(case when usage.usage_date > cast({{ add_days('in_force.snapshot_date', -30) }} as date)
            then usage.time_saved_minutes else 0 end) as time_saved_minutes_30d
    from in_force
    inner join {{ ref('fct_feature_usage_daily') }} as usage
        on usage.client_id = in_force.client_id
        and usage.usage_date <= in_force.snapshot_date
        and usage.usage_date > cast({{ add_days('in_force.snapshot_date', -60) }} as date)
    group by in_force.client_id, in_force.snapshot_date

),

adoption as (

    select in_force.client_id, in_force.snapshot_date, count(*) as features_adopted
    from in_force
    inner join {{ ref('fct_feature_adoption') }} as adopted
        on adopted.client_id = in_force.client_id
        and cast(adopted.first_used_at as date) <= in_force.snapshot_date
    group by in_force.client_id, in_force.snapshot_date

),

posts_daily as (

    select client_id, activity_date, sum(posts_published) as posts,
        sum(impressions) as impressions, sum(engagements) as engagements
    from {{ ref('fct_platform_usage_daily') }}
    group by client_id, activity_date

),

-- posting window: the client's last 180 days before the snapshot (from its sign-up at most)
windows as (

    select
        in_force.client_id,
        in_force.snapshot_date,
        greatest(
            cast(clients.signup_at as date),
            cast({{ add_days('in_force.snapshot_date', -179) }} as date)
        ) as window_start
    from in_force
    inner join {{ ref('dim_clients') }} as clients on clients.client_id = in_force.client_id

),

engagement as (

    select
        windows.client_id,
        windows.snapshot_date,
        {{ days_between('windows.window_start', 'windows.snapshot_date') }} + 1 as window_days,
        sum(posts_daily.posts) as window_posts,
        sum(posts_daily.posts * ({{ days_between('windows.window_start', 'posts_daily.activity_date') }} + 0.5))
            as posts_time_sum,
        sum(case when posts_daily.activity_date > cast({{ add_days('windows.snapshot_date', -30) }} as date)
            then posts_daily.posts else 0 end) as posts_30d,
        sum(case when posts_daily.activity_date <= cast({{ add_days('windows.snapshot_date', -30) }} as date)
                and posts_daily.activity_date > cast({{ add_days('windows.snapshot_date', -60) }} as date)
            then posts_daily.posts else 0 end) as posts_prev_30d,
        sum(case when posts_daily.activity_date > cast({{ add_days('windows.snapshot_date', -30) }} as date)
            then posts_daily.impressions else 0 end) as impressions_30d,
        sum(case when posts_daily.activity_date > cast({{ add_days('windows.snapshot_date', -30) }} as date)
            then posts_daily.engagements else 0 end) as engagements_30d
    from windows
    inner join posts_daily
        on posts_daily.client_id = windows.client_id
        and posts_daily.activity_date <= windows.snapshot_date
        and posts_daily.activity_date >= windows.window_start
    group by windows.client_id, windows.snapshot_date, windows.window_start

),

joined as (

    select
        in_force.client_id,
        in_force.snapshot_date,
        in_force.snapshot_date = in_force.as_of_date as is_current,
        in_force.status,
        in_force.tier,
        tiers.tier_rank,
        tiers.tier_count - tiers.tier_rank as tier_headroom,
        first_events.signup_tier,
        in_force.billing_period,
        in_force.mrr,
        latest_event.discount_pct,
        ln(first_events.signup_price / signup_tiers.launch_price) as signup_price_vs_launch,
        ln(latest_event.monthly_price / tiers.launch_price) as price_vs_launch,
        {{ days_between('clients.signup_at', 'in_force.snapshot_date') }} as days_since_signup,
        case when history.first_paid_at is not null
            then {{ days_between('history.first_paid_at', 'in_force.snapshot_date') }} end as paid_days,
        history.upgrades,
        history.downgrades,
        history.past_cancellations,
        coalesce(adoption.features_adopted, 0) as features_adopted,
        coalesce(feature_use.feature_uses_30d, 0) as feature_uses_30d,
        coalesce(feature_use.feature_uses_prev_30d, 0) as feature_uses_prev_30d,
        coalesce(feature_use.time_saved_minutes_30d, 0) as time_saved_minutes_30d,
        coalesce(engagement.posts_30d, 0) as posts_30d,
        coalesce(engagement.posts_prev_30d, 0) as posts_prev_30d,
        coalesce(engagement.impressions_30d, 0) as impressions_30d,
        coalesce(engagement.engagements_30d, 0) as engagements_30d,
        case when engagement.window_posts >= 3 and engagement.window_days >= 14
            -- in double: Spark reads 2.0 as a decimal and rounds decimal quotients to 6 places
            then 30 * 12 * (cast(engagement.posts_time_sum as {{ double_type() }}) / engagement.window_posts
                - cast(engagement.window_days as {{ double_type() }}) / 2) / (engagement.window_days * engagement.window_days)
        end as posting_trend,
        case
            when {{ add_days('in_force.snapshot_date', 30) }} > {{ add_days('in_force.as_of_date', 0) }}
                then null
            else coalesce(churn_next.cancels, 0) > 0
        end as churned_next_30d
    from in_force
    inner join {{ ref('dim_clients') }} as clients on clients.client_id = in_force.client_id
    left join tiers on tiers.tier = in_force.tier
    left join first_events on first_events.client_id = in_force.client_id
    left join tiers as signup_tiers on signup_tiers.tier = first_events.signup_tier
    left join history
        on history.client_id = in_force.client_id and history.snapshot_date = in_force.snapshot_date
    left join latest_event
        on latest_event.client_id = in_force.client_id
        and latest_event.snapshot_date = in_force.snapshot_date
    left join churn_next
        on churn_next.client_id = in_force.client_id
        and churn_next.snapshot_date = in_force.snapshot_date
    left join feature_use
        on feature_use.client_id = in_force.client_id
        and feature_use.snapshot_date = in_force.snapshot_date
    left join adoption
        on adoption.client_id = in_force.client_id
        and adoption.snapshot_date = in_force.snapshot_date
    left join engagement
        on engagement.client_id = in_force.client_id
        and engagement.snapshot_date = in_force.snapshot_date

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(snapshot_date as date) as snapshot_date,
    cast(is_current as boolean) as is_current,
    cast(status as {{ string_type() }}) as status,
    cast(tier as {{ string_type() }}) as tier,
    cast(signup_tier as {{ string_type() }}) as signup_tier,
    cast(billing_period as {{ string_type() }}) as billing_period,
    cast(tier_rank as bigint) as tier_rank,
    cast(tier_headroom as bigint) as tier_headroom,
    cast(mrr as {{ double_type() }}) as mrr,
    cast(discount_pct as {{ double_type() }}) as discount_pct,
    cast(signup_price_vs_launch as {{ double_type() }}) as signup_price_vs_launch,
    cast(price_vs_launch as {{ double_type() }}) as price_vs_launch,
    cast(days_since_signup as bigint) as days_since_signup,
    cast(paid_days as bigint) as paid_days,
    cast(upgrades as bigint) as upgrades,
    cast(downgrades as bigint) as downgrades,
    cast(past_cancellations as bigint) as past_cancellations,
    cast(features_adopted as bigint) as features_adopted,
    cast(feature_uses_30d as bigint) as feature_uses_30d,
    cast(feature_uses_prev_30d as bigint) as feature_uses_prev_30d,
    cast(time_saved_minutes_30d as {{ double_type() }}) as time_saved_minutes_30d,
    cast(posts_30d as bigint) as posts_30d,
    cast(posts_prev_30d as bigint) as posts_prev_30d,
    cast(impressions_30d as bigint) as impressions_30d,
    cast(engagements_30d as bigint) as engagements_30d,
    cast(posting_trend as {{ double_type() }}) as posting_trend,
    cast(churned_next_30d as boolean) as churned_next_30d
from joined
