with

states as (

    select * from {{ ref('int_subscription_states') }}

),

prices as (

    select * from {{ ref('fct_price_history') }}

),

mrr_daily as (

    select * from {{ ref('fct_mrr_daily') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

weeks as (

    select distinct {{ trunc_date('week', 'date_day') }} as week_start
    from {{ date_spine(
        '(select min(event_at) from ' ~ ref('int_subscription_states') ~ ')',
        '(select as_of_date from ' ~ ref('int_as_of_date') ~ ')'
    ) }} as spine

),

tiers as (

    select tier from prices
    union
    select tier from states

),

grid as (

    select
        weeks.week_start,
        tiers.tier,
        least(cast({{ add_days('weeks.week_start', 6) }} as date), as_of.as_of_date) as week_end_date
    from weeks
    cross join tiers
    cross join as_of

),

demand as (

    select
        {{ trunc_date('week', 'event_at') }} as week_start,
        tier,
        sum(case when event_type = 'subscribe' then 1 else 0 end) as new_subscriptions,
        sum(case when event_type = 'reactivate' then 1 else 0 end) as reactivations,
        sum(case when event_type = 'cancel' then 1 else 0 end) as cancellations,
        avg(case when event_type = 'subscribe' then monthly_price end) as avg_new_shown_price,
        avg(case when event_type = 'subscribe' then mrr end) as avg_new_mrr
    from states
    group by 1, 2

),

final as (

    select
        grid.week_start,
        grid.tier,
        prices.monthly_price as list_price,
        coalesce(demand.new_subscriptions, 0) as new_subscriptions,
        coalesce(demand.reactivations, 0) as reactivations,
        coalesce(demand.cancellations, 0) as cancellations,
        coalesce(mrr_daily.active_clients, 0) as active_clients_end,
        coalesce(mrr_daily.mrr, 0) as mrr_end,
        demand.avg_new_shown_price,
        demand.avg_new_mrr,
        grid.week_end_date
    from grid
    left join prices
        on grid.tier = prices.tier
        and prices.valid_from <= {{ to_timestamp('grid.week_start') }}
        and (prices.valid_to is null or prices.valid_to > {{ to_timestamp('grid.week_start') }})
    left join demand
        on grid.week_start = demand.week_start and grid.tier = demand.tier
    left join mrr_daily
        on grid.week_end_date = mrr_daily.date_day and grid.tier = mrr_daily.tier

)

select
    cast(week_start as date) as week_start,
    cast(tier as {{ string_type() }}) as tier,
    cast(list_price as {{ double_type() }}) as list_price,
    cast(new_subscriptions as bigint) as new_subscriptions,
    cast(reactivations as bigint) as reactivations,
    cast(cancellations as bigint) as cancellations,
    cast(active_clients_end as bigint) as active_clients_end,
    cast(mrr_end as {{ double_type() }}) as mrr_end,
    cast(avg_new_shown_price as {{ double_type() }}) as avg_new_shown_price,
    cast(avg_new_mrr as {{ double_type() }}) as avg_new_mrr,
    cast(week_end_date as date) as week_end_date
from final
