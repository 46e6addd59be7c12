-- Every pricing proposal and where it stands in the approval workflow (ops.pricing_proposals:
-- pending, approved, rejected, expired, superseded, implemented), for BI. The state as of the
-- reporting build: the review_pricing_proposal job changes it in between. Empty before the
-- proposals sensor has created any.
{%- set proposals_source = source('ops', 'pricing_proposals') %}
{%- set present = (load_relation(proposals_source) is not none) if execute else false %}
with

proposals as (

    {%- if present %}
    select proposal_id, recommendation_id, tier, action, status, risk_level, current_price,
        proposed_price, price_change_pct, expected_revenue_change, revenue_change_ci_lower,
        revenue_change_ci_upper, churn_risk_change, confidence, reasoning, reviewer,
        review_notes, superseded_by, recommendation_as_of, effective_date, created_at,
        expires_at, decided_at, implemented_at
    from {{ proposals_source }}
    {%- else %}
    select cast(null as varchar) as proposal_id, cast(null as varchar) as recommendation_id,
        cast(null as varchar) as tier, cast(null as varchar) as action,
        cast(null as varchar) as status, cast(null as varchar) as risk_level,
        cast(null as double precision) as current_price,
        cast(null as double precision) as proposed_price,
        cast(null as double precision) as price_change_pct,
        cast(null as double precision) as expected_revenue_change,
        cast(null as double precision) as revenue_change_ci_lower,
        cast(null as double precision) as revenue_change_ci_upper,
        cast(null as double precision) as churn_risk_change,
        cast(null as double precision) as confidence, cast(null as varchar) as reasoning,
        cast(null as varchar) as reviewer, cast(null as varchar) as review_notes,
        cast(null as varchar) as superseded_by, cast(null as date) as recommendation_as_of,
        cast(null as date) as effective_date, cast(null as timestamp) as created_at,
        cast(null as timestamp) as expires_at, cast(null as timestamp) as decided_at,
        cast(null as timestamp) as implemented_at
    where 1 = 0
    {%- endif %}

)

select
    cast(proposal_id as varchar) as proposal_id,
    cast(recommendation_id as varchar) as recommendation_id,
    cast(tier as varchar) as tier,
    cast(action as varchar) as action,
    cast(status as varchar) as status,
    cast(status = 'pending' as boolean) as awaiting_review,
    cast(risk_level as varchar) as risk_level,
    cast(current_price as double precision) as current_price,
    cast(proposed_price as double precision) as proposed_price,
    cast(price_change_pct as double precision) as price_change_pct,
    cast(expected_revenue_change as double precision) as expected_revenue_change,
    cast(revenue_change_ci_lower as double precision) as revenue_change_ci_lower,
    cast(revenue_change_ci_upper as double precision) as revenue_change_ci_upper,
    cast(churn_risk_change as double precision) as churn_risk_change,
    cast(confidence as double precision) as confidence,
    cast(reasoning as varchar) as reasoning,
    cast(reviewer as varchar) as reviewer,
    cast(review_notes as varchar) as review_notes,
    cast(superseded_by as varchar) as superseded_by,
    cast(recommendation_as_of as date) as recommendation_as_of,
    cast(effective_date as date) as effective_date,
    cast(created_at as timestamp) as created_at,
    cast(expires_at as timestamp) as expires_at,
    cast(decided_at as timestamp) as decided_at,
    cast(implemented_at as timestamp) as implemented_at
from proposals
