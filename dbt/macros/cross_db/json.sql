{#- Text of `field` of the element at 0-based `index` of a JSON array stored as text. -#}
{% macro json_array_field(expr, index, field) -%}
    {{ return(adapter.dispatch('json_array_field')(expr, index, field)) }}
{%- endmacro %}
{% macro default__json_array_field(expr, index, field) -%}
    json_extract_string({{ expr }}, '$[{{ index }}].{{ field }}')
{%- endmacro %}
{% macro postgres__json_array_field(expr, index, field) -%}
    (cast({{ expr }} as json) -> {{ index }} ->> '{{ field }}')
{%- endmacro %}
{% macro spark__json_array_field(expr, index, field) -%}
    get_json_object({{ expr }}, '$[{{ index }}].{{ field }}')
{%- endmacro %}
