{#- The one definition of engagement, shared by every mart that reports it. -#}

{% macro engagements() -%}
    (likes + comments + shares + saves)
{%- endmacro %}

{% macro engagement_rate() -%}
    cast({{ engagements() }} as {{ double_type() }}) / nullif(impressions, 0)
{%- endmacro %}
