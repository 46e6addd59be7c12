with

mrr_daily as (

    select * from {{ ref('fct_mrr_daily') }}

)

select
    date_day,
    sum(mrr) as mrr,
    sum(active_clients) as active_clients,
    sum(new_mrr) as new_mrr,
    sum(expansion_mrr) as expansion_mrr,
    sum(reactivation_mrr) as reactivation_mrr,
    sum(contraction_mrr) as contraction_mrr,
    sum(churned_mrr) as churned_mrr,
    sum(net_mrr_change) as net_mrr_change
from mrr_daily
group by date_day
