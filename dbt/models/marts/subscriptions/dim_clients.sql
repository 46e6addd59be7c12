with

clients as (

    select * from {{ ref('stg_raw__clients') }}

),

states as (

    select * from {{ ref('int_subscription_states') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

latest_state as (

    select *
    from (
        select
            *,
            row_number() over (partition by client_id order by event_seq desc) as reverse_seq
        from states
    ) as ranked
    where reverse_seq = 1

),

firsts as (

    select
        client_id,
        min(case when status = 'active' then event_at end) as first_subscribed_at
    from states
    group by client_id

),

joined as (

    select
        clients.client_id,
        clients.business_name,
        clients.business_niche,
        clients.country,
        clients.acquisition_channel,
        coalesce(latest_state.status, 'prospect') as current_status,
        latest_state.tier as current_tier,
        latest_state.billing_period as current_billing_period,
        coalesce(latest_state.mrr, 0) as current_mrr,
        coalesce(latest_state.status = 'churned', false) as is_churned,
        case when latest_state.status = 'churned' then latest_state.event_at end as churned_at,
        firsts.first_subscribed_at,
        as_of.as_of_date,
        clients.signup_at,
        latest_state.event_at as last_subscription_event_at
    from clients
    cross join as_of
    left join latest_state
        on clients.client_id = latest_state.client_id
    left join firsts
        on clients.client_id = firsts.client_id

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(business_name as {{ string_type() }}) as business_name,
    cast(business_niche as {{ string_type() }}) as business_niche,
    cast(country as {{ string_type() }}) as country,
    cast(acquisition_channel as {{ string_type() }}) as acquisition_channel,
    cast(current_status as {{ string_type() }}) as current_status,
    cast(current_tier as {{ string_type() }}) as current_tier,
    cast(current_billing_period as {{ string_type() }}) as current_billing_period,
    cast(current_mrr as {{ double_type() }}) as current_mrr,
    cast(is_churned as boolean) as is_churned,
    cast(
        case
            when first_subscribed_at is not null
                then {{ days_between('first_subscribed_at', 'coalesce(churned_at, as_of_date)') }}
        end as bigint
    ) as tenure_days,
    cast(signup_at as timestamp) as signup_at,
    cast(first_subscribed_at as timestamp) as first_subscribed_at,
    cast(churned_at as timestamp) as churned_at,
    cast(last_subscription_event_at as timestamp) as last_subscription_event_at
from joined
