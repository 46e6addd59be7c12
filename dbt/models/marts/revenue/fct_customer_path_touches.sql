-- A view over int_customer_path_touches (the journeys are materialized once, there).
{{ config(materialized='view') }}
with

path_touches as (

    select * from {{ ref('int_customer_path_touches') }}

)

select
    cast(path_id as varchar) as path_id,
    cast(touch_position as bigint) as touch_position,
    cast(touchpoint_id as varchar) as touchpoint_id,
    cast(client_id as varchar) as client_id,
    cast(customer_id as varchar) as customer_id,
    cast(conversion_id as varchar) as conversion_id,
    cast(conversion_id is not null as boolean) as converted,
    cast(channel as varchar) as channel,
    cast(campaign_id as varchar) as campaign_id,
    cast(content_id as varchar) as content_id,
    cast(touched_at as timestamp) as touched_at,
    cast(built_at as timestamp) as built_at
from path_touches
