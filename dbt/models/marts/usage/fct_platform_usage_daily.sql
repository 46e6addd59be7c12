{%- set scope = {'key': ['activity_date'], 'partition': ['activity_date']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
{#- the days with a post published or engagement observed in rows loaded since the last build -#}
{%- set changed_days -%}
    {{ loaded_since_last_build(ref('stg_raw__content'), 'cast(published_at as date)', 'content_loaded_at') }}
    union
    {{ loaded_since_last_build(ref('stg_raw__content_engagement'), 'observed_date', 'engagement_loaded_at') }}
{%- endset %}
with

content as (

    select * from {{ ref('stg_raw__content') }}
    {%- if is_incremental() %}
    where cast(published_at as date) in ({{ changed_days }})
    {%- endif %}

),

engagement as (

    select * from {{ ref('stg_raw__content_engagement') }}
    {%- if is_incremental() %}
    where observed_date in ({{ changed_days }})
    {%- endif %}

),

published as (

    select
        client_id,
        platform,
        cast(published_at as date) as activity_date,
        count(*) as posts_published,
        max(_loaded_at) as content_loaded_at
    from content
    where published_at is not null
    group by 1, 2, 3

),

engaged as (

    select
        client_id,
        platform,
        observed_date as activity_date,
        count(distinct content_id) as posts_observed,
        sum(impressions) as impressions,
        sum(reach) as reach,
        sum(likes) as likes,
        sum(comments) as comments,
        sum(shares) as shares,
        sum(saves) as saves,
        sum(clicks) as clicks,
        sum(followers_gained) as followers_gained,
        max(_loaded_at) as engagement_loaded_at
    from engagement
    group by 1, 2, 3

),

joined as (

    select
        coalesce(published.client_id, engaged.client_id) as client_id,
        coalesce(published.platform, engaged.platform) as platform,
        coalesce(published.activity_date, engaged.activity_date) as activity_date,
        coalesce(published.posts_published, 0) as posts_published,
        coalesce(engaged.posts_observed, 0) as posts_observed,
        coalesce(engaged.impressions, 0) as impressions,
        coalesce(engaged.reach, 0) as reach,
        coalesce(engaged.likes, 0) as likes,
        coalesce(engaged.comments, 0) as comments,
        coalesce(engaged.shares, 0) as shares,
        coalesce(engaged.saves, 0) as saves,
        coalesce(engaged.clicks, 0) as clicks,
        coalesce(engaged.followers_gained, 0) as followers_gained,
        published.content_loaded_at,
        engaged.engagement_loaded_at
    from published
    full outer join engaged
        on published.client_id = engaged.client_id
        and published.platform = engaged.platform
        and published.activity_date = engaged.activity_date

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(platform as {{ string_type() }}) as platform,
    cast(activity_date as date) as activity_date,
    cast(posts_published as bigint) as posts_published,
    cast(posts_observed as bigint) as posts_observed,
    cast(impressions as bigint) as impressions,
    cast(reach as bigint) as reach,
    cast(likes as bigint) as likes,
    cast(comments as bigint) as comments,
    cast(shares as bigint) as shares,
    cast(saves as bigint) as saves,
    cast({{ engagements() }} as bigint) as engagements,
    cast({{ engagement_rate() }} as {{ double_type() }}) as engagement_rate,
    cast(clicks as bigint) as clicks,
    cast(followers_gained as bigint) as followers_gained,
    cast(content_loaded_at as timestamp) as content_loaded_at,
    cast(engagement_loaded_at as timestamp) as engagement_loaded_at,
    {{ utc_now() }} as built_at
from joined
