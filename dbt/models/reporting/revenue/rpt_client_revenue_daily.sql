with

revenue_daily as (

    select * from {{ ref('fct_revenue_daily') }}

)

select
    client_id,
    revenue_date,
    orders,
    first_orders,
    repeat_orders,
    customers,
    revenue,
    first_order_revenue,
    repeat_order_revenue,
    avg_order_value
from revenue_daily
