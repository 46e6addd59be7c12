{%- set scope = {'key': ['content_id'], 'partition': ['client_id']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
{#- the posts with a content or engagement row loaded since the last build -#}
{%- set changed_posts -%}
    {{ loaded_since_last_build(ref('stg_raw__content'), incremental_scope(scope), 'content_loaded_at') }}
    union
    {{ loaded_since_last_build(ref('stg_raw__content_engagement'), incremental_scope(scope), 'engagement_loaded_at') }}
{%- endset %}
with

content as (

    select * from {{ ref('stg_raw__content') }}
    {%- if is_incremental() %}
    where {{ incremental_scope(scope) }} in ({{ changed_posts }})
    {%- endif %}

),

engagement as (

    select * from {{ ref('stg_raw__content_engagement') }}
    {%- if is_incremental() %}
    where {{ incremental_scope(scope) }} in ({{ changed_posts }})
    {%- endif %}

),

lifetime as (

    select
        content_id,
        count(*) as days_observed,
        sum(impressions) as impressions,
        sum(reach) as reach,
        sum(likes) as likes,
        sum(comments) as comments,
        sum(shares) as shares,
        sum(saves) as saves,
        sum(clicks) as clicks,
        sum(followers_gained) as followers_gained,
        min(observed_date) as first_observed_date,
        max(observed_date) as last_observed_date,
        max(_loaded_at) as engagement_loaded_at
    from engagement
    group by content_id

),

joined as (

    select
        content.content_id,
        content.client_id,
        content.platform,
        content.content_type,
        content.campaign_id,
        content.automated,
        content.viral_optimized,
        content.published_at is not null as is_published,
        content.hashtag_count,
        coalesce(lifetime.days_observed, 0) as days_observed,
        coalesce(lifetime.impressions, 0) as impressions,
        coalesce(lifetime.reach, 0) as reach,
        coalesce(lifetime.likes, 0) as likes,
        coalesce(lifetime.comments, 0) as comments,
        coalesce(lifetime.shares, 0) as shares,
        coalesce(lifetime.saves, 0) as saves,
        coalesce(lifetime.clicks, 0) as clicks,
        coalesce(lifetime.followers_gained, 0) as followers_gained,
        lifetime.first_observed_date,
        lifetime.last_observed_date,
        content.created_at,
        content.published_at,
        content._loaded_at as content_loaded_at,
        lifetime.engagement_loaded_at
    from content
    left join lifetime
        on content.content_id = lifetime.content_id

)

select
    cast(content_id as {{ string_type() }}) as content_id,
    cast(client_id as {{ string_type() }}) as client_id,
    cast(platform as {{ string_type() }}) as platform,
    cast(content_type as {{ string_type() }}) as content_type,
    cast(campaign_id as {{ string_type() }}) as campaign_id,
    cast(automated as boolean) as automated,
    cast(viral_optimized as boolean) as viral_optimized,
    cast(is_published as boolean) as is_published,
    cast(hashtag_count as bigint) as hashtag_count,
    cast(days_observed as bigint) as days_observed,
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
    cast(first_observed_date as date) as first_observed_date,
    cast(last_observed_date as date) as last_observed_date,
    cast(created_at as timestamp) as created_at,
    cast(published_at as timestamp) as published_at,
    cast(content_loaded_at as timestamp) as content_loaded_at,
    cast(engagement_loaded_at as timestamp) as engagement_loaded_at,
    {{ utc_now() }} as built_at
from joined
