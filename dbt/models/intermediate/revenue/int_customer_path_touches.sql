-- Each marketing touch assigned to the end-customer journey (path) it belongs to.
-- A table, not a view: two marts read it, and on PostgreSQL the marts built over the inlined
-- view were planned from wildly wrong row estimates (minutes instead of seconds at `small`).
-- Incremental by customer: a customer's journeys depend on all of its touches and orders, so a
-- build recomputes every customer with a touch or an order loaded since the last build.
{%- set scope = {'key': ['client_id', 'customer_id'], 'partition': ['client_id']} -%}
{{ config(materialized='incremental', on_schema_change='fail',
          post_hook="{{ analyze_relation(this) }}",
          **incremental_scope_config(scope)) }}
{%- set lookback_days = var('attribution_lookback_days') %}
{%- set changed_customers -%}
    {{ loaded_since_last_build(ref('stg_raw__touchpoints'), incremental_scope(scope), 'touch_loaded_at') }}
    union
    {{ loaded_since_last_build(ref('stg_raw__conversions'), incremental_scope(scope), 'conversion_loaded_at') }}
{%- endset %}
with

touches as (

    select * from {{ ref('stg_raw__touchpoints') }}
    {%- if is_incremental() %}
    where ({{ incremental_scope(scope) }}) in ({{ changed_customers }})
        -- a build with another lookback recomputes every journey
        or (select max(lookback_days) from {{ this }}) <> {{ lookback_days }}
    {%- endif %}

),

conversions as (

    select * from {{ ref('stg_raw__conversions') }}
    {%- if is_incremental() %}
    where ({{ incremental_scope(scope) }}) in ({{ changed_customers }})
        -- a build with another lookback recomputes every journey
        or (select max(lookback_days) from {{ this }}) <> {{ lookback_days }}
    {%- endif %}

),

-- the touches carry their own columns through, so that nothing joins back to them (at `large`
-- the join of 7.7 M touches with themselves held more memory than the windows)
events as (

    select client_id, customer_id, touchpoint_id as event_id, 0 as is_conversion, touched_at as event_at,
        _loaded_at, channel, campaign_id, content_id
    from touches
    union all
    select client_id, customer_id, conversion_id as event_id, 1 as is_conversion, converted_at as event_at,
        _loaded_at, null as channel, null as campaign_id, null as content_id
    from conversions

),

-- conversions_so_far counts the customer's orders up to and including the event; at equal times a
-- touch sorts before the order, so a touch at the instant of an order belongs to that order.
sequenced as (

    select
        *,
        sum(is_conversion) over (
            partition by client_id, customer_id
            order by event_at, is_conversion, event_id
            rows between unbounded preceding and current row
        ) as conversions_so_far
    from events

),

-- gap k = the time after the customer's k-th order and up to its (k+1)-th; the (k+1)-th order closes it
gap_closers as (

    select
        client_id,
        customer_id,
        conversions_so_far - 1 as gap_index,
        event_id as conversion_id,
        event_at as converted_at,
        _loaded_at as conversion_loaded_at
    from sequenced
    where is_conversion = 1

),

touch_gaps as (

    select
        client_id,
        customer_id,
        event_id as touchpoint_id,
        conversions_so_far as gap_index,
        event_at as touched_at,
        channel,
        campaign_id,
        content_id,
        _loaded_at as touch_loaded_at
    from sequenced
    where is_conversion = 0

),

assigned as (

    select
        touch_gaps.touchpoint_id,
        touch_gaps.client_id,
        touch_gaps.customer_id,
        touch_gaps.gap_index,
        case
            when touch_gaps.touched_at >= {{ add_days('gap_closers.converted_at', -lookback_days) }}
                then gap_closers.conversion_id
        end as conversion_id,
        touch_gaps.channel,
        touch_gaps.campaign_id,
        touch_gaps.content_id,
        touch_gaps.touched_at,
        touch_gaps.touch_loaded_at,
        gap_closers.conversion_loaded_at
    from touch_gaps
    left join gap_closers
        on touch_gaps.client_id = gap_closers.client_id
        and touch_gaps.customer_id = gap_closers.customer_id
        and touch_gaps.gap_index = gap_closers.gap_index

),

-- The touches of a gap that no order claims form non-converting journeys: one starts at the gap's
-- first unclaimed touch and at every unclaimed touch more than one lookback after the previous
-- one (a lookback without a touch ends a journey), and a journey longer than one lookback is cut
-- into lookback-sized windows counted from its own first touch, so that each is comparable to a
-- converting one (at most one lookback of touches). One journey for a whole gap (months of touches
-- of several purchase opportunities) would understate how often journeys fail to convert; windows
-- counted from the gap's first touch instead would cut the second and later opportunities of a
-- gap in two wherever a window boundary falls inside them.
unclaimed as (

    select
        *,
        case
            when lag(touched_at) over by_time is null
                or touched_at > {{ add_days('lag(touched_at) over by_time', lookback_days) }}
                then 1
            else 0
        end as starts_journey
    from assigned
    where conversion_id is null
    window by_time as (
        partition by client_id, customer_id, gap_index order by touched_at, touchpoint_id
    )

),

unclaimed_journeys as (

    select
        *,
        sum(starts_journey) over (
            partition by client_id, customer_id, gap_index
            order by touched_at, touchpoint_id
            rows between unbounded preceding and current row
        ) as journey_index
    from unclaimed

),

unclaimed_windows as (

    select
        *,
        cast(floor(
            {{ seconds_between(
                'min(touched_at) over (partition by client_id, customer_id, gap_index, journey_index)',
                'touched_at') }} / {{ lookback_days * 86400 }}
        ) as bigint) as window_in_journey
    from unclaimed_journeys

),

windowed as (

    select
        touchpoint_id, client_id, customer_id, gap_index, conversion_id, channel, campaign_id,
        content_id, touched_at, touch_loaded_at, conversion_loaded_at,
        dense_rank() over (
            partition by client_id, customer_id, gap_index
            order by journey_index, window_in_journey
        ) - 1 as window_index
    from unclaimed_windows
    union all
    select
        touchpoint_id, client_id, customer_id, gap_index, conversion_id, channel, campaign_id,
        content_id, touched_at, touch_loaded_at, conversion_loaded_at,
        cast(null as bigint) as window_index
    from assigned
    where conversion_id is not null

),

keyed as (

    select
        client_id
            || ':' || customer_id
            || ':' || cast(gap_index as {{ string_type() }})
            || case
                when conversion_id is not null then ':c'
                when window_index = 0 then ':n'
                else ':n' || cast(window_index as {{ string_type() }})
            end as path_id,
        *
    from windowed

)

select
    path_id,
    touchpoint_id,
    client_id,
    customer_id,
    gap_index,
    conversion_id,
    row_number() over (partition by path_id order by touched_at, touchpoint_id) as touch_position,
    channel,
    campaign_id,
    content_id,
    touched_at,
    touch_loaded_at,
    conversion_loaded_at,
    cast({{ lookback_days }} as bigint) as lookback_days,
    {{ utc_now() }} as built_at
from keyed
