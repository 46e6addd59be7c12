-- Per tier: the pricing recommendation beside the market (analytics.price_recommendations and
-- analytics.competitive_position, written by the pricing domain's Python assets). Before those
-- tables exist (a fresh dbt build) it builds with the tiers of the current price list and null
-- recommendation columns (source_or_empty types them).
{%- set recommendations_source = source('analytics', 'price_recommendations') %}
{%- set positions_source = source('analytics', 'competitive_position') %}
with

prices as (

    select tier, monthly_price as list_price
    from {{ ref('fct_price_history') }}
    where is_current

),

recommendations as (

    {{ source_or_empty(recommendations_source, {
        'tier': 'varchar',
        'action': 'varchar',
        'suggested_price': 'double precision',
        'price_change_pct': 'double precision',
        'elasticity': 'double precision',
        'elasticity_ci_lower': 'double precision',
        'elasticity_ci_upper': 'double precision',
        'classification': 'varchar',
        'expected_revenue_change': 'double precision',
        'revenue_change_ci_lower': 'double precision',
        'revenue_change_ci_upper': 'double precision',
        'churn_risk_change': 'double precision',
        'confidence': 'double precision',
        'risk_level': 'varchar',
        'reasoning': 'varchar',
        'recommendation_id': 'varchar',
        'status': 'varchar',
        'as_of_date': 'date',
    }) }}

),

positions as (

    {{ source_or_empty(positions_source, {
        'tier': 'varchar',
        'competitor_median_price': 'double precision',
        'price_index': 'double precision',
        'current_position': 'varchar',
        'recommended_position': 'varchar',
    }) }}

)

select
    cast(prices.tier as {{ string_type() }}) as tier,
    recommendations.action,
    recommendations.risk_level,
    positions.current_position,
    positions.recommended_position,
    recommendations.classification as elasticity_class,
    cast(prices.list_price as {{ double_type() }}) as list_price,
    recommendations.suggested_price,
    recommendations.price_change_pct,
    positions.competitor_median_price,
    positions.price_index,
    recommendations.elasticity,
    recommendations.elasticity_ci_lower,
    recommendations.elasticity_ci_upper,
    recommendations.expected_revenue_change,
    recommendations.revenue_change_ci_lower,
    recommendations.revenue_change_ci_upper,
    recommendations.churn_risk_change,
    recommendations.confidence,
    recommendations.reasoning,
    recommendations.recommendation_id,
    recommendations.status as recommendation_status,
    recommendations.as_of_date
from prices
left join recommendations
    on prices.tier = recommendations.tier
left join positions
    on prices.tier = positions.tier
