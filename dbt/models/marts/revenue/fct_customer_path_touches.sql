-- A view over int_customer_path_touches (the journeys are materialized once, there).
{{ config(materialized='view') }}
with

path_touches as (

    select * from {{ ref('int_customer_path_touches') }}

)

select
    cast(path_id as {{ string_type() }}) as path_id,
    cast(touch_position as bigint) as touch_position,
    cast(touchpoint_id as {{ string_type() }}) as touchpoint_id,
    cast(client_id as {{ string_type() }}) as client_id,
    cast(customer_id as {{ string_type() }}) as customer_id,
    cast(conversion_id as {{ string_type() }}) as conversion_id,
    cast(conversion_id is not null as boolean) as converted,
    cast(channel as {{ string_type() }}) as channel,
    cast(campaign_id as {{ string_type() }}) as campaign_id,
    cast(content_id as {{ string_type() }}) as content_id,
    cast(touched_at as timestamp) as touched_at,
    cast(built_at as timestamp) as built_at
from path_touches
