-- Competitors' plan prices per ISO week, mapped to our comparable tier, up to the as-of date.
with

observations as (

    select * from {{ ref('stg_raw__competitor_prices') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

weekly as (

    select
        {{ trunc_date('week', 'observations.observed_at') }} as week_start,
        observations.competitor,
        observations.plan_name,
        observations.comparable_tier,
        avg(observations.monthly_price) as monthly_price,
        count(*) as observations,
        max(observations.observed_at) as last_observed_at
    from observations
    cross join as_of
    where cast(observations.observed_at as date) <= as_of.as_of_date
    group by 1, 2, 3, 4

)

select
    cast(week_start as date) as week_start,
    cast(competitor as {{ string_type() }}) as competitor,
    cast(plan_name as {{ string_type() }}) as plan_name,
    cast(comparable_tier as {{ string_type() }}) as comparable_tier,
    cast(monthly_price as {{ double_type() }}) as monthly_price,
    cast(observations as bigint) as observations,
    cast(last_observed_at as timestamp) as last_observed_at
from weekly
