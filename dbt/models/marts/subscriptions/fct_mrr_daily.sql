with

states as (

    select * from {{ ref('int_client_daily_states') }}

),

tiers as (

    select tier from {{ ref('stg_raw__plan_prices') }}
    union
    select tier from states

),

days as (

    select date_day
    from {{ date_spine(
        '(select min(valid_from_date) from ' ~ ref('int_client_daily_states') ~ ')',
        '(select as_of_date from ' ~ ref('int_as_of_date') ~ ')'
    ) }} as spine

),

balances as (

    select
        days.date_day,
        states.tier,
        sum(states.mrr) as mrr,
        sum(case when states.status = 'active' then 1 else 0 end) as active_clients
    from states
    inner join days
        on days.date_day >= states.valid_from_date
        and (states.valid_to_date is null or days.date_day < states.valid_to_date)
    group by days.date_day, states.tier

),

-- one leg per (client, change day, tier touched): the tier in force, and the tier left on a migration
legs as (

    select
        valid_from_date as date_day,
        tier,
        case when previous_tier = tier then previous_mrr else 0 end as tier_mrr_before,
        mrr as tier_mrr_after,
        previous_mrr as client_mrr_before,
        mrr as client_mrr_after,
        had_paid_before
    from states
    union all
    select
        valid_from_date as date_day,
        previous_tier as tier,
        previous_mrr as tier_mrr_before,
        0 as tier_mrr_after,
        previous_mrr as client_mrr_before,
        mrr as client_mrr_after,
        had_paid_before
    from states
    where previous_tier is not null and previous_tier <> tier

),

movements as (

    select
        date_day,
        tier,
        sum(case when client_mrr_before = 0 and client_mrr_after > 0 and not had_paid_before
            then tier_mrr_after - tier_mrr_before else 0 end) as new_mrr,
        sum(case when client_mrr_before = 0 and client_mrr_after > 0 and had_paid_before
            then tier_mrr_after - tier_mrr_before else 0 end) as reactivation_mrr,
        sum(case when client_mrr_before > 0 and client_mrr_after > 0 and tier_mrr_after > tier_mrr_before
            then tier_mrr_after - tier_mrr_before else 0 end) as expansion_mrr,
        sum(case when client_mrr_before > 0 and client_mrr_after > 0 and tier_mrr_after < tier_mrr_before
            then tier_mrr_before - tier_mrr_after else 0 end) as contraction_mrr,
        sum(case when client_mrr_before > 0 and client_mrr_after = 0
            then tier_mrr_before - tier_mrr_after else 0 end) as churned_mrr
    from legs
    group by date_day, tier

),

final as (

    select
        days.date_day,
        tiers.tier,
        coalesce(balances.mrr, 0) as mrr,
        coalesce(balances.active_clients, 0) as active_clients,
        coalesce(movements.new_mrr, 0) as new_mrr,
        coalesce(movements.expansion_mrr, 0) as expansion_mrr,
        coalesce(movements.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(movements.contraction_mrr, 0) as contraction_mrr,
        coalesce(movements.churned_mrr, 0) as churned_mrr
    from days
    cross join tiers
    left join balances
        on days.date_day = balances.date_day and tiers.tier = balances.tier
    left join movements
        on days.date_day = movements.date_day and tiers.tier = movements.tier

)

select
    cast(date_day as date) as date_day,
    cast(tier as {{ string_type() }}) as tier,
    cast(mrr as {{ double_type() }}) as mrr,
    cast(active_clients as bigint) as active_clients,
    cast(new_mrr as {{ double_type() }}) as new_mrr,
    cast(expansion_mrr as {{ double_type() }}) as expansion_mrr,
    cast(reactivation_mrr as {{ double_type() }}) as reactivation_mrr,
    cast(contraction_mrr as {{ double_type() }}) as contraction_mrr,
    cast(churned_mrr as {{ double_type() }}) as churned_mrr,
    cast(new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr as {{ double_type() }})
        as net_mrr_change
from final
