-- Per tier: the pricing recommendation beside the market (analytics.price_recommendations and
-- analytics.competitive_position, written by the pricing domain's Python assets). Before those
-- tables exist (a fresh dbt build) it builds with the tiers of the current price list and null
-- recommendation columns.
{%- set tables = ['price_recommendations', 'competitive_position'] %}
{%- set present = {} %}
{%- for t in tables %}
    {#- source() outside the condition: dbt records the dependency at parse time #}
    {%- set relation = source('analytics', t) %}
    {%- do present.update({t: (load_relation(relation) is not none) if execute else false}) %}
{%- endfor %}
with

prices as (

    select tier, monthly_price as list_price
    from {{ ref('fct_price_history') }}
    where is_current

),

recommendations as (

    {%- if present['price_recommendations'] %}
    select tier, action, suggested_price, price_change_pct, elasticity, elasticity_ci_lower,
        elasticity_ci_upper, classification, expected_revenue_change, revenue_change_ci_lower,
        revenue_change_ci_upper, churn_risk_change, confidence, risk_level, reasoning,
        recommendation_id, status, as_of_date
    from {{ source('analytics', 'price_recommendations') }}
    {%- else %}
    select cast(null as varchar) as tier, cast(null as varchar) as action,
        cast(null as double precision) as suggested_price,
        cast(null as double precision) as price_change_pct,
        cast(null as double precision) as elasticity,
        cast(null as double precision) as elasticity_ci_lower,
        cast(null as double precision) as elasticity_ci_upper,
        cast(null as varchar) as classification,
        cast(null as double precision) as expected_revenue_change,
        cast(null as double precision) as revenue_change_ci_lower,
        cast(null as double precision) as revenue_change_ci_upper,
        cast(null as double precision) as churn_risk_change,
        cast(null as double precision) as confidence, cast(null as varchar) as risk_level,
        cast(null as varchar) as reasoning, cast(null as varchar) as recommendation_id,
        cast(null as varchar) as status, cast(null as date) as as_of_date
    where 1 = 0
    {%- endif %}

),

positions as (

    {%- if present['competitive_position'] %}
    select tier, competitor_median_price, price_index, current_position, recommended_position
    from {{ source('analytics', 'competitive_position') }}
    {%- else %}
    select cast(null as varchar) as tier, cast(null as double precision) as competitor_median_price,
        cast(null as double precision) as price_index, cast(null as varchar) as current_position,
        cast(null as varchar) as recommended_position
    where 1 = 0
    {%- endif %}

)

select
    cast(prices.tier as varchar) as tier,
    cast(recommendations.action as varchar) as action,
    cast(recommendations.risk_level as varchar) as risk_level,
    cast(positions.current_position as varchar) as current_position,
    cast(positions.recommended_position as varchar) as recommended_position,
    cast(recommendations.classification as varchar) as elasticity_class,
    cast(prices.list_price as double precision) as list_price,
    cast(recommendations.suggested_price as double precision) as suggested_price,
    cast(recommendations.price_change_pct as double precision) as price_change_pct,
    cast(positions.competitor_median_price as double precision) as competitor_median_price,
    cast(positions.price_index as double precision) as price_index,
    cast(recommendations.elasticity as double precision) as elasticity,
    cast(recommendations.elasticity_ci_lower as double precision) as elasticity_ci_lower,
    cast(recommendations.elasticity_ci_upper as double precision) as elasticity_ci_upper,
    cast(recommendations.expected_revenue_change as double precision) as expected_revenue_change,
    cast(recommendations.revenue_change_ci_lower as double precision) as revenue_change_ci_lower,
    cast(recommendations.revenue_change_ci_upper as double precision) as revenue_change_ci_upper,
    cast(recommendations.churn_risk_change as double precision) as churn_risk_change,
    cast(recommendations.confidence as double precision) as confidence,
    cast(recommendations.reasoning as varchar) as reasoning,
    cast(recommendations.recommendation_id as varchar) as recommendation_id,
    cast(recommendations.status as varchar) as recommendation_status,
    cast(recommendations.as_of_date as date) as as_of_date
from prices
left join recommendations
    on prices.tier = recommendations.tier
left join positions
    on prices.tier = positions.tier
