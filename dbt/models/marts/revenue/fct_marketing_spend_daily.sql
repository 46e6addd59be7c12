with

spend as (

    select * from {{ ref('stg_raw__marketing_spend') }}

),

daily as (

    select
        client_id,
        channel,
        spend_date,
        count(distinct campaign_id) as campaigns,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from spend
    group by 1, 2, 3

)

select
    cast(client_id as varchar) as client_id,
    cast(channel as varchar) as channel,
    cast(spend_date as date) as spend_date,
    cast(campaigns as bigint) as campaigns,
    cast(spend as double precision) as spend,
    cast(impressions as bigint) as impressions,
    cast(clicks as bigint) as clicks,
    cast(spend / nullif(clicks, 0) as double precision) as cost_per_click,
    cast(1000 * spend / nullif(impressions, 0) as double precision) as cost_per_mille
from daily
