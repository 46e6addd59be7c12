with

states as (

    select * from {{ ref('int_subscription_states') }}

),

with_previous as (

    select
        *,
        lag(tier) over w as previous_tier,
        coalesce(lag(mrr) over w, 0) as previous_mrr
    from states
    window w as (partition by client_id order by event_seq)

)

select
    cast(event_id as varchar) as event_id,
    cast(client_id as varchar) as client_id,
    cast(event_type as varchar) as event_type,
    cast(tier as varchar) as tier,
    cast(previous_tier as varchar) as previous_tier,
    cast(billing_period as varchar) as billing_period,
    cast(status as varchar) as status,
    cast(price_experiment_id as varchar) as price_experiment_id,
    cast(event_seq as bigint) as event_seq,
    cast(monthly_price as double precision) as monthly_price,
    cast(discount_pct as double precision) as discount_pct,
    cast(mrr as double precision) as mrr,
    cast(previous_mrr as double precision) as previous_mrr,
    cast(mrr - previous_mrr as double precision) as mrr_change,
    cast(event_at as timestamp) as event_at
from with_previous
