{#- Attribution helpers (plain SQL, identical on DuckDB and PostgreSQL). -#}

{#- `and <column> in (...) and <column> not in (...)` from the vars attribution_include_channels
    (empty = every channel) and attribution_exclude_channels. -#}
{% macro attribution_channel_filter(column) -%}
    {%- set include = var('attribution_include_channels', []) or [] -%}
    {%- set exclude = var('attribution_exclude_channels', []) or [] -%}
    {%- if include | length > 0 %}
        and {{ column }} in ({% for c in include %}'{{ c }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif %}
    {%- if exclude | length > 0 %}
        and {{ column }} not in ({% for c in exclude %}'{{ c }}'{% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif %}
{%- endmacro %}
