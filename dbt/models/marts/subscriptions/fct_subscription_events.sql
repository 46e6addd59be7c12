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
    cast(event_id as {{ string_type() }}) as event_id,
    cast(client_id as {{ string_type() }}) as client_id,
    cast(event_type as {{ string_type() }}) as event_type,
    cast(tier as {{ string_type() }}) as tier,
    cast(previous_tier as {{ string_type() }}) as previous_tier,
    cast(billing_period as {{ string_type() }}) as billing_period,
    cast(status as {{ string_type() }}) as status,
    cast(price_experiment_id as {{ string_type() }}) as price_experiment_id,
    cast(event_seq as bigint) as event_seq,
    cast(monthly_price as {{ double_type() }}) as monthly_price,
    cast(discount_pct as {{ double_type() }}) as discount_pct,
    cast(mrr as {{ double_type() }}) as mrr,
    cast(previous_mrr as {{ double_type() }}) as previous_mrr,
    cast(mrr - previous_mrr as {{ double_type() }}) as mrr_change,
    cast(event_at as timestamp) as event_at
from with_previous
