-- In every tier, mrr(d) = mrr(d-1) + new + expansion + reactivation - contraction - churned
-- (mrr before the first day is 0). Returns the days where it fails by more than rounding noise.
with

mrr as (

    select
        *,
        coalesce(lag(mrr) over (partition by tier order by date_day), 0) as previous_mrr
    from {{ ref('fct_mrr_daily') }}

)

select *
from mrr
where abs(
    mrr - (previous_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr)
) > 1e-6 * (1 + abs(mrr))
