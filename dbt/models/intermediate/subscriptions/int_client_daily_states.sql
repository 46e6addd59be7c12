-- The client's subscription state at the end of each day on which it changed, with the day it ends.
with

states as (

    select
        *,
        cast(event_at as date) as state_date,
        row_number() over (
            partition by client_id, cast(event_at as date)
            order by event_at desc, event_id desc
        ) as reverse_seq_in_day
    from {{ ref('int_subscription_states') }}

),

end_of_day as (

    select client_id, state_date, tier, billing_period, status, mrr
    from states
    where reverse_seq_in_day = 1

)

select
    client_id,
    tier,
    status,
    billing_period,
    mrr,
    lag(tier) over w as previous_tier,
    coalesce(lag(mrr) over w, 0) as previous_mrr,
    coalesce(
        max(case when mrr > 0 then 1 else 0 end) over (
            partition by client_id order by state_date
            rows between unbounded preceding and 1 preceding
        ),
        0
    ) = 1 as had_paid_before,
    state_date as valid_from_date,
    lead(state_date) over w as valid_to_date
from end_of_day
window w as (partition by client_id order by state_date)
