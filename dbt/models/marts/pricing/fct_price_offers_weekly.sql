-- Sign-ups per tier, ISO week and price offer: the list price, or an arm of a pricing experiment
-- (which replaces the list offer of the tiers it covers while it runs). The input of the
-- elasticity and demand models: how long each offer was shown (exposure) and how many clients
-- signed up under it.
{%- set max_arms = 8 %}
with

states as (

    select * from {{ ref('int_subscription_states') }}

),

prices as (

    select * from {{ ref('fct_price_history') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

units as (

    select experiment_id, unit_id, variant from {{ ref('fct_experiment_units') }}

),

marketing as (

    select spend_date, sum(spend) as spend
    from {{ ref('fct_marketing_spend_daily') }}
    group by spend_date

),

-- a client's first subscription event (trial_start or subscribe) is its sign-up: tier, price shown
signups as (

    select
        states.client_id,
        states.tier,
        cast(states.event_at as date) as signup_date,
        states.monthly_price as shown_price,
        states.discount_pct,
        states.price_experiment_id,
        units.variant
    from states
    left join units
        on states.price_experiment_id = units.experiment_id
        and states.client_id = units.unit_id
    where states.event_seq = 1

),

-- the first sign-up day holds the accounts that existed when the history starts (the launch
-- cohort): not demand at a price, so the demand history starts the day after
bounds as (

    select min(signup_date) as first_signup_date from signups

),

days as (

    select spine.date_day
    from {{ date_spine('(select first_signup_date from bounds)', '(select as_of_date from as_of)') }} as spine
    where spine.date_day > (select first_signup_date from bounds)

),

tier_days as (

    select prices.tier, days.date_day, prices.monthly_price as list_price
    from days
    inner join prices
        on prices.valid_from <= {{ to_timestamp('days.date_day') }}
        and (prices.valid_to is null or prices.valid_to > {{ to_timestamp('days.date_day') }})

),

arms as (

    {%- for i in range(max_arms) %}
    select
        experiment_id,
        {{ json_array_field('variants', i, 'name') }} as variant,
        cast({{ json_array_field('variants', i, 'weight') }} as {{ double_type() }}) as traffic_share,
        cast(start_at as date) as start_date,
        cast(end_at as date) as end_date
    from {{ ref('stg_raw__experiments') }}
    where kind = 'pricing'
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

-- a pricing experiment covers the tiers whose sign-ups carry its id
experiment_tiers as (

    select distinct price_experiment_id as experiment_id, tier
    from signups
    where price_experiment_id is not null

),

experiment_days as (

    select
        tier_days.tier,
        tier_days.date_day,
        tier_days.list_price,
        arms.experiment_id || ':' || arms.variant as offer,
        arms.experiment_id as price_experiment_id,
        arms.variant,
        arms.traffic_share
    from tier_days
    inner join experiment_tiers
        on tier_days.tier = experiment_tiers.tier
    inner join arms
        on experiment_tiers.experiment_id = arms.experiment_id
        and arms.variant is not null
        and tier_days.date_day >= arms.start_date
        and (arms.end_date is null or tier_days.date_day < arms.end_date)

),

offer_days as (

    select
        tier_days.tier,
        tier_days.date_day,
        tier_days.list_price,
        'list' as offer,
        cast(null as {{ string_type() }}) as price_experiment_id,
        cast(null as {{ string_type() }}) as variant,
        cast(1.0 as {{ double_type() }}) as traffic_share
    from tier_days
    where not exists (
        select 1 from experiment_days
        where experiment_days.tier = tier_days.tier and experiment_days.date_day = tier_days.date_day
    )
    union all
    select * from experiment_days

),

daily_signups as (

    select
        tier,
        signup_date as date_day,
        case
            when price_experiment_id is null then 'list'
            else price_experiment_id || ':' || coalesce(variant, '(unassigned)')
        end as offer,
        count(*) as signups,
        sum(discount_pct) as discount_pct_sum,
        sum(shown_price) as shown_price_sum
    from signups
    where signup_date > (select first_signup_date from bounds)
    group by 1, 2, 3

),

-- each weekday's sign-up rate relative to the average day, over the whole history: a day of
-- exposure counts by its weekday, so an offer shown Monday to Wednesday is not compared with one
-- shown Thursday to Sunday as if the days were alike
weekday_rates as (

    select
        {{ days_between(trunc_date('week', 'days.date_day'), 'days.date_day') }} as weekday,
        count(*) as days_in_history,
        sum(coalesce(per_day.signups, 0)) as weekday_signups
    from days
    left join (
        select date_day, sum(signups) as signups from daily_signups group by date_day
    ) as per_day
        on days.date_day = per_day.date_day
    group by 1

),

weekday_weights as (

    select
        weekday,
        coalesce(
            -- in double: Spark reads 1.0 as a decimal and rounds decimal quotients to 6 places
            (cast(weekday_signups as {{ double_type() }}) / days_in_history)
            / nullif(cast((select sum(weekday_signups) from weekday_rates) as {{ double_type() }})
                / (select sum(days_in_history) from weekday_rates), 0),
            1
        ) as weekday_weight
    from weekday_rates

),

-- the price multiplier each arm applied to the list price, from its sign-ups
arm_ratios as (

    select
        signups.price_experiment_id || ':' || signups.variant as offer,
        signups.tier,
        avg(signups.shown_price / tier_days.list_price) as price_ratio
    from signups
    inner join tier_days
        on signups.tier = tier_days.tier and signups.signup_date = tier_days.date_day
    where signups.variant is not null
    group by 1, 2

),

joined as (

    select
        coalesce(offer_days.tier, daily_signups.tier) as tier,
        coalesce(offer_days.date_day, daily_signups.date_day) as date_day,
        coalesce(offer_days.offer, daily_signups.offer) as offer,
        offer_days.price_experiment_id,
        offer_days.variant,
        offer_days.list_price,
        offer_days.traffic_share,
        case when offer_days.tier is not null then 1 else 0 end as offer_shown,
        coalesce(daily_signups.signups, 0) as signups,
        daily_signups.discount_pct_sum,
        daily_signups.shown_price_sum
    from offer_days
    full outer join daily_signups
        on offer_days.tier = daily_signups.tier
        and offer_days.date_day = daily_signups.date_day
        and offer_days.offer = daily_signups.offer

),

weekly as (

    select
        {{ trunc_date('week', 'joined.date_day') }} as week_start,
        joined.tier,
        joined.offer,
        max(joined.price_experiment_id) as price_experiment_id,
        max(joined.variant) as variant,
        joined.list_price,
        max(joined.traffic_share) as traffic_share,
        sum(joined.offer_shown) as exposure_days,
        sum(joined.offer_shown * joined.traffic_share * weekday_weights.weekday_weight) as exposure,
        sum(joined.signups) as signups,
        sum(joined.discount_pct_sum) / nullif(sum(joined.signups), 0) as avg_discount_pct,
        sum(joined.shown_price_sum) / nullif(sum(joined.signups), 0) as avg_shown_price,
        avg(marketing.spend) as marketing_spend_per_day
    from joined
    left join weekday_weights
        on weekday_weights.weekday
            = {{ days_between(trunc_date('week', 'joined.date_day'), 'joined.date_day') }}
    left join marketing
        on joined.date_day = marketing.spend_date
    group by 1, 2, 3, 6

)

select
    cast(weekly.week_start as date) as week_start,
    cast(weekly.tier as {{ string_type() }}) as tier,
    cast(weekly.offer as {{ string_type() }}) as offer,
    cast(weekly.price_experiment_id as {{ string_type() }}) as price_experiment_id,
    cast(weekly.variant as {{ string_type() }}) as variant,
    cast(weekly.list_price as {{ double_type() }}) as list_price,
    cast(
        case
            when weekly.offer = 'list' then weekly.list_price
            else weekly.list_price * arm_ratios.price_ratio
        end as {{ double_type() }}
    ) as shown_price,
    cast(weekly.traffic_share as {{ double_type() }}) as traffic_share,
    cast(weekly.exposure_days as bigint) as exposure_days,
    cast(coalesce(weekly.exposure, 0) as {{ double_type() }}) as exposure,
    cast(weekly.signups as bigint) as signups,
    cast(weekly.avg_discount_pct as {{ double_type() }}) as avg_discount_pct,
    cast(weekly.avg_shown_price as {{ double_type() }}) as avg_shown_price,
    cast(weekly.marketing_spend_per_day as {{ double_type() }}) as marketing_spend_per_day
from weekly
left join arm_ratios
    on weekly.offer = arm_ratios.offer and weekly.tier = arm_ratios.tier
