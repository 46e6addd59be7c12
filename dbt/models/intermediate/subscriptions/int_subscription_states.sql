-- Each subscription event with the client's state right after it: status and MRR.
with

events as (

    select * from {{ ref('stg_raw__subscription_events') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

states as (

    select
        events.event_id,
        events.client_id,
        events.event_type,
        events.tier,
        events.billing_period,
        events.price_experiment_id,
        events.monthly_price,
        events.discount_pct,
        case
            when events.event_type = 'trial_start' then 'trial'
            when events.event_type = 'cancel' then 'churned'
            else 'active'
        end as status,
        case
            when events.event_type in ('trial_start', 'cancel') then cast(0 as {{ double_type() }})
            else events.monthly_price * (1 - events.discount_pct / 100.0)
        end as mrr,
        events.event_at
    from events
    cross join as_of
    where events.event_at < {{ add_days('as_of.as_of_date', 1) }}

)

select
    *,
    row_number() over (partition by client_id order by event_at, event_id) as event_seq
from states
