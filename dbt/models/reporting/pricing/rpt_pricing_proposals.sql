-- Every pricing proposal and where it stands in the approval workflow (ops.pricing_proposals:
-- pending, approved, rejected, expired, superseded, implemented), for BI. The state as of the
-- reporting build: the review_pricing_proposal job changes it in between. Empty before the
-- proposals sensor has created any (source_or_empty).
{%- set proposals_source = source('ops', 'pricing_proposals') %}
with

proposals as (

    {% call source_or_empty(proposals_source, {
        'proposal_id': 'varchar',
        'recommendation_id': 'varchar',
        'tier': 'varchar',
        'action': 'varchar',
        'status': 'varchar',
        'awaiting_review': 'boolean',
        'risk_level': 'varchar',
        'current_price': 'double precision',
        'proposed_price': 'double precision',
        'price_change_pct': 'double precision',
        'expected_revenue_change': 'double precision',
        'revenue_change_ci_lower': 'double precision',
        'revenue_change_ci_upper': 'double precision',
        'churn_risk_change': 'double precision',
        'confidence': 'double precision',
        'reasoning': 'varchar',
        'reviewer': 'varchar',
        'review_notes': 'varchar',
        'superseded_by': 'varchar',
        'recommendation_as_of': 'date',
        'effective_date': 'date',
        'created_at': 'timestamp',
        'expires_at': 'timestamp',
        'decided_at': 'timestamp',
        'implemented_at': 'timestamp',
    }) %}
    select *, status = 'pending' as awaiting_review
    from {{ proposals_source }}
    {% endcall %}

)

select * from proposals
