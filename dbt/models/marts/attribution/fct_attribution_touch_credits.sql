-- Rule-based attribution: one row per conversion x touch x model with the touch's credit.
{%- set half_life = var('attribution_half_life_days') %}
{%- set models = var('attribution_models') %}
with

paths as (

    select * from {{ ref('fct_customer_paths') }}
    where converted

),

touches as (

    select * from {{ ref('fct_customer_path_touches') }}
    where converted {{ attribution_channel_filter('channel') }}

),

positioned as (

    select
        touches.path_id,
        touches.touchpoint_id,
        paths.client_id,
        paths.conversion_id,
        touches.channel,
        touches.content_id,
        row_number() over (partition by touches.path_id order by touches.touch_position) as touch_position,
        count(*) over (partition by touches.path_id) as touch_count,
        {{ seconds_between('touches.touched_at', 'paths.converted_at') }} / 86400.0 as days_before_conversion,
        paths.revenue,
        touches.touched_at,
        paths.converted_at
    from touches
    inner join paths
        on touches.path_id = paths.path_id

),

weighted as (

    select
        *,
        power(cast(2 as {{ double_type() }}), -days_before_conversion / cast({{ half_life }} as {{ double_type() }})) as decay_weight
    from positioned

),

decayed as (

    select
        *,
        decay_weight / sum(decay_weight) over (partition by path_id) as decay_share
    from weighted

),

credited as (

    {%- for model in models %}
    select
        *,
        '{{ model }}' as attribution_model,
        {%- if model == 'first_touch' %}
        cast(case when touch_position = 1 then 1 else 0 end as {{ double_type() }}) as credit
        {%- elif model == 'last_touch' %}
        cast(case when touch_position = touch_count then 1 else 0 end as {{ double_type() }}) as credit
        {%- elif model == 'linear' %}
        1.0 / cast(touch_count as {{ double_type() }}) as credit
        {%- elif model == 'time_decay' %}
        decay_share as credit
        {%- elif model == 'position_based' %}
        case
            when touch_count = 1 then cast(1 as {{ double_type() }})
            when touch_count = 2 then cast(0.5 as {{ double_type() }})
            when touch_position = 1 or touch_position = touch_count then cast(0.4 as {{ double_type() }})
            else cast(0.2 as {{ double_type() }}) / cast(touch_count - 2 as {{ double_type() }})
        end as credit
        {%- else %}
        {{ exceptions.raise_compiler_error("unknown attribution model " ~ model) }}
        {%- endif %}
    from decayed
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

-- conversions with no (included) touch in their window: the whole credit to '(none)'
untouched as (

    {%- for model in models %}
    select
        paths.path_id,
        cast(null as {{ string_type() }}) as touchpoint_id,
        paths.client_id,
        paths.conversion_id,
        '(none)' as channel,
        cast(null as {{ string_type() }}) as content_id,
        0 as touch_position,
        0 as touch_count,
        cast(null as {{ double_type() }}) as days_before_conversion,
        paths.revenue,
        cast(null as timestamp) as touched_at,
        paths.converted_at,
        '{{ model }}' as attribution_model,
        cast(1 as {{ double_type() }}) as credit
    from paths
    -- an anti-join, not NOT IN (subquery): PostgreSQL cannot hash a large NOT IN and goes quadratic
    where not exists (select 1 from touches where touches.path_id = paths.path_id)
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select path_id, touchpoint_id, client_id, conversion_id, channel, content_id, touch_position,
        touch_count, days_before_conversion, revenue, touched_at, converted_at, attribution_model, credit
    from credited
    union all
    select path_id, touchpoint_id, client_id, conversion_id, channel, content_id, touch_position,
        touch_count, days_before_conversion, revenue, touched_at, converted_at, attribution_model, credit
    from untouched

)

select
    cast(conversion_id as {{ string_type() }}) as conversion_id,
    cast(touchpoint_id as {{ string_type() }}) as touchpoint_id,
    cast(attribution_model as {{ string_type() }}) as attribution_model,
    cast(path_id as {{ string_type() }}) as path_id,
    cast(client_id as {{ string_type() }}) as client_id,
    cast(channel as {{ string_type() }}) as channel,
    cast(content_id as {{ string_type() }}) as content_id,
    cast(touch_position as bigint) as touch_position,
    cast(touch_count as bigint) as touch_count,
    cast(days_before_conversion as {{ double_type() }}) as days_before_conversion,
    cast(credit as {{ double_type() }}) as credit,
    cast(credit * revenue as {{ double_type() }}) as revenue_credit,
    cast(touched_at as timestamp) as touched_at,
    cast(converted_at as timestamp) as converted_at
from final
