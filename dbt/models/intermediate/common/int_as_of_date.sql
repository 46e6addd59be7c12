-- The analysis date: the `as_of` var when set, else the last day of the bulk of the activity
-- data: the latest day holding at least `as_of_min_day_share` (1%) of the rows of the median day,
-- counting the rows of every activity table together. A stray row (or a few) dated ahead of
-- the data makes a day far below that share, so it cannot move the date; a real day's
-- activity never falls that low. A table: computed once per build, read by the views over it.
{{ config(materialized='table') }}

with

activity as (

    select cast(event_at as date) as activity_date from {{ ref('stg_raw__subscription_events') }}
    union all
    select cast(converted_at as date) from {{ ref('stg_raw__conversions') }}
    union all
    select cast(touched_at as date) from {{ ref('stg_raw__touchpoints') }}
    union all
    select observed_date from {{ ref('stg_raw__content_engagement') }}
    union all
    select cast(used_at as date) from {{ ref('stg_raw__feature_usage_logs') }}
    union all
    select spend_date from {{ ref('stg_raw__marketing_spend') }}
    union all
    select cast(started_at as date) from {{ ref('stg_raw__content_generation_jobs') }}
    union all
    select cast(assigned_at as date) from {{ ref('stg_raw__experiment_assignments') }}
    union all
    select cast(minute_at as date) from {{ ref('stg_raw__api_requests') }}

),

daily as (

    select activity_date, count(*) as n_rows
    from activity
    group by activity_date

),

bulk as (

    select percentile_cont(0.5) within group (order by n_rows) as median_rows
    from daily

)

select
    cast(coalesce({{ as_of_var_literal() }}, max(daily.activity_date)) as date) as as_of_date
from daily
cross join bulk
where daily.n_rows >= {{ var('as_of_min_day_share') }} * bulk.median_rows
