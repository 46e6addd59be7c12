with

clients as (

    select * from {{ ref('dim_clients') }}

)

select
    client_id,
    business_name,
    current_status,
    current_tier,
    current_billing_period,
    current_mrr,
    is_churned,
    tenure_days,
    signup_at,
    first_subscribed_at,
    churned_at
from clients
