with

clients as (

    select * from {{ ref('dim_clients') }}
    where current_status = 'active'

),

adoption as (

    select * from {{ ref('fct_feature_adoption') }}

),

features as (

    select distinct feature_name from adoption

),

tier_sizes as (

    select current_tier as tier, count(*) as active_clients
    from clients
    group by current_tier

),

adopters as (

    select clients.current_tier as tier, adoption.feature_name, count(*) as adopting_clients
    from clients
    inner join adoption
        on clients.client_id = adoption.client_id
    group by 1, 2

),

final as (

    select
        tier_sizes.tier,
        features.feature_name,
        tier_sizes.active_clients,
        coalesce(adopters.adopting_clients, 0) as adopting_clients
    from tier_sizes
    cross join features
    left join adopters
        on tier_sizes.tier = adopters.tier and features.feature_name = adopters.feature_name

)

select
    cast(tier as {{ string_type() }}) as tier,
    cast(feature_name as {{ string_type() }}) as feature_name,
    cast(active_clients as bigint) as active_clients,
    cast(adopting_clients as bigint) as adopting_clients,
    cast(cast(adopting_clients as {{ double_type() }}) / active_clients as {{ double_type() }}) as adoption_share
from final
