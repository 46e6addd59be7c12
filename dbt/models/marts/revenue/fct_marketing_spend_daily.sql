{%- set scope = {'key': ['spend_date'], 'partition': ['spend_date']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          **incremental_scope_config(scope)) }}
with

spend as (

    select * from {{ ref('stg_raw__marketing_spend') }}
    {%- if is_incremental() %}
    where spend_date in (
        {{ loaded_since_last_build(ref('stg_raw__marketing_spend'), "spend_date") }}
    )
    {%- endif %}

),

daily as (

    select
        client_id,
        channel,
        spend_date,
        count(distinct campaign_id) as campaigns,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        max(_loaded_at) as loaded_at
    from spend
    group by 1, 2, 3

)

select
    cast(client_id as {{ string_type() }}) as client_id,
    cast(channel as {{ string_type() }}) as channel,
    cast(spend_date as date) as spend_date,
    cast(campaigns as bigint) as campaigns,
    cast(spend as {{ double_type() }}) as spend,
    cast(impressions as bigint) as impressions,
    cast(clicks as bigint) as clicks,
    cast(spend / nullif(clicks, 0) as {{ double_type() }}) as cost_per_click,
    cast(1000 * spend / nullif(impressions, 0) as {{ double_type() }}) as cost_per_mille,
    cast(loaded_at as timestamp) as loaded_at,
    {{ utc_now() }} as built_at
from daily
