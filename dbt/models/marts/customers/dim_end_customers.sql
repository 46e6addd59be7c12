-- One row per client x end-customer with at least one order: the order summary that RFM,
-- BG/NBD + Gamma-Gamma and the clustering read. Orders with revenue <= 0 (refunds, test
-- orders) are counted but are not purchases: recency, frequency, order days and money come
-- from the orders with revenue > 0. Money is summed in whole cents, so both warehouses give
-- identical values (ties in the RFM monetary score never depend on the engine).
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

conversions as (

    select
        fct_conversions.client_id,
        fct_conversions.customer_id,
        fct_conversions.converted_date,
        fct_conversions.revenue,
        cast(round(fct_conversions.revenue * 100) as bigint) as revenue_cents
    from {{ ref('fct_conversions') }} as fct_conversions
    cross join as_of
    where fct_conversions.converted_date <= as_of.as_of_date

),

order_days as (

    select
        client_id,
        customer_id,
        converted_date,
        sum(revenue_cents) as day_cents,
        row_number() over (
            partition by client_id, customer_id order by converted_date
        ) as day_number
    from conversions
    where revenue > 0
    group by client_id, customer_id, converted_date

),

purchases as (

    select
        client_id,
        customer_id,
        count(*) as order_days,
        min(converted_date) as first_order_date,
        max(converted_date) as last_order_date,
        sum(case when day_number > 1 then day_cents else 0 end) as repeat_cents
    from order_days
    group by client_id, customer_id

),

orders as (

    select
        client_id,
        customer_id,
        count(*) as orders,
        sum(case when revenue > 0 then 1 else 0 end) as valid_orders,
        sum(case when revenue > 0 then revenue_cents else 0 end) as valid_cents
    from conversions
    group by client_id, customer_id

),

touches as (

    select
        client_id,
        customer_id,
        count(*) as touches,
        count(distinct channel) as channels,
        sum(case when channel in ('instagram', 'tiktok', 'youtube', 'linkedin', 'twitter', 'facebook')
            then 1 else 0 end) as social_touches
    from {{ ref('fct_customer_path_touches') }}
    group by client_id, customer_id

),

joined as (

    select
        orders.client_id,
        orders.customer_id,
        orders.orders,
        orders.valid_orders,
        purchases.order_days,
        orders.valid_cents,
        purchases.repeat_cents,
        purchases.first_order_date,
        purchases.last_order_date,
        as_of.as_of_date,
        coalesce(touches.touches, 0) as touches,
        coalesce(touches.channels, 0) as channels,
        coalesce(touches.social_touches, 0) as social_touches
    from orders
    cross join as_of
    left join purchases
        on orders.client_id = purchases.client_id and orders.customer_id = purchases.customer_id
    left join touches
        on orders.client_id = touches.client_id and orders.customer_id = touches.customer_id

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(customer_id as {{ string_type() }}) as customer_id,
    cast(orders as bigint) as orders,
    cast(valid_orders as bigint) as valid_orders,
    cast(order_days as bigint) as order_days,
    cast(order_days - 1 as bigint) as repeat_order_days,
    cast(case when valid_orders > 0 then cast(valid_cents as {{ double_type() }}) / 100 end
        as {{ double_type() }}) as total_revenue,
    cast(case when valid_orders > 0
        then cast(valid_cents as {{ double_type() }}) / cast(100 * valid_orders as {{ double_type() }})
    end as {{ double_type() }}) as avg_order_value,
    cast(case when order_days > 1
        then cast(repeat_cents as {{ double_type() }}) / cast(100 * (order_days - 1) as {{ double_type() }})
    end as {{ double_type() }}) as repeat_order_day_value,
    cast({{ days_between('first_order_date', 'as_of_date') }} as bigint) as days_since_first_order,
    cast({{ days_between('first_order_date', 'last_order_date') }} as bigint) as days_first_to_last_order,
    cast({{ days_between('last_order_date', 'as_of_date') }} as bigint) as days_since_last_order,
    cast(case when order_days > 1
        then cast({{ days_between('first_order_date', 'last_order_date') }} as {{ double_type() }})
            / cast(order_days - 1 as {{ double_type() }})
    end as {{ double_type() }}) as mean_days_between_orders,
    cast(touches as bigint) as touches,
    cast(channels as bigint) as channels,
    cast(case when touches > 0
        then cast(social_touches as {{ double_type() }}) / cast(touches as {{ double_type() }})
    end as {{ double_type() }}) as social_touch_share,
    cast(first_order_date as date) as first_order_date,
    cast(last_order_date as date) as last_order_date,
    cast(as_of_date as date) as as_of_date
from joined
