{#- The `as_of` var as a SQL date literal, or null when unset (see int_as_of_date). -#}
{% macro as_of_var_literal() -%}
    {%- set as_of = var('as_of', none) -%}
    {%- if as_of is none or as_of == '' -%}
        cast(null as date)
    {%- else -%}
        cast('{{ as_of }}' as date)
    {%- endif -%}
{%- endmacro %}
