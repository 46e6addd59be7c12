with

usage_daily as (

    select * from {{ ref('fct_platform_usage_daily') }}

)

select
    client_id,
    platform,
    activity_date,
    posts_published,
    posts_observed,
    impressions,
    reach,
    likes,
    comments,
    shares,
    saves,
    engagements,
    engagement_rate,
    clicks,
    followers_gained
from usage_daily
