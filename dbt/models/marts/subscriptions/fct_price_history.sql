with

prices as (

    select * from {{ ref('stg_raw__plan_prices') }}

),

intervals as (

    select
        tier,
        source,
        monthly_price,
        effective_from as valid_from,
        coalesce(
            effective_to,
            lead(effective_from) over (partition by tier order by effective_from)
        ) as valid_to
    from prices

)

select
    cast(tier as {{ string_type() }}) as tier,
    cast(source as {{ string_type() }}) as source,
    cast(monthly_price as {{ double_type() }}) as monthly_price,
    cast(valid_to is null as boolean) as is_current,
    cast(valid_from as timestamp) as valid_from,
    cast(valid_to as timestamp) as valid_to
from intervals
