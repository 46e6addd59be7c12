-- The analysis date: the `as_of` var when set, else the latest date present in the activity data.
with

data_dates as (

    select max(cast(event_at as date)) as data_date from {{ ref('stg_raw__subscription_events') }}
    union all
    select max(cast(converted_at as date)) from {{ ref('stg_raw__conversions') }}
    union all
    select max(cast(touched_at as date)) from {{ ref('stg_raw__touchpoints') }}
    union all
    select max(observed_date) from {{ ref('stg_raw__content_engagement') }}
    union all
    select max(cast(used_at as date)) from {{ ref('stg_raw__feature_usage_logs') }}
    union all
    select max(spend_date) from {{ ref('stg_raw__marketing_spend') }}
    union all
    select max(cast(started_at as date)) from {{ ref('stg_raw__content_generation_jobs') }}
    union all
    select max(cast(assigned_at as date)) from {{ ref('stg_raw__experiment_assignments') }}
    union all
    select max(cast(minute_at as date)) from {{ ref('stg_raw__api_requests') }}

)

select
    cast(coalesce({{ as_of_var_literal() }}, max(data_date)) as date) as as_of_date
from data_dates
