{#- Aggregates whose spelling differs between DuckDB, PostgreSQL and Spark. -#}

{#- Concatenate `expr` with `delimiter`, ordered by `order_by` (a SQL order-by list). -#}
{% macro string_agg_ordered(expr, delimiter, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered')(expr, delimiter, order_by)) }}
{%- endmacro %}
{% macro default__string_agg_ordered(expr, delimiter, order_by) -%}
    string_agg(cast({{ expr }} as {{ string_type() }}), '{{ delimiter }}' order by {{ order_by }})
{%- endmacro %}
{% macro postgres__string_agg_ordered(expr, delimiter, order_by) -%}
    string_agg(cast({{ expr }} as {{ string_type() }}), '{{ delimiter }}' order by {{ order_by }})
{%- endmacro %}
{% macro spark__string_agg_ordered(expr, delimiter, order_by) -%}
    string_agg(cast({{ expr }} as {{ string_type() }}), '{{ delimiter }}') within group (order by {{ order_by }})
{%- endmacro %}

{#- Continuous (interpolated) percentile `fraction` in [0, 1] of `expr`, as an aggregate. -#}
{% macro percentile_cont(fraction, expr) -%}
    {{ return(adapter.dispatch('percentile_cont')(fraction, expr)) }}
{%- endmacro %}
{% macro default__percentile_cont(fraction, expr) -%}
    cast(quantile_cont({{ expr }}, {{ fraction }}) as {{ double_type() }})
{%- endmacro %}
{% macro postgres__percentile_cont(fraction, expr) -%}
    cast(percentile_cont({{ fraction }}) within group (order by {{ expr }}) as {{ double_type() }})
{%- endmacro %}
{#- Spark spells it the SQL-standard way too. -#}
{% macro spark__percentile_cont(fraction, expr) -%}
    {{ return(postgres__percentile_cont(fraction, expr)) }}
{%- endmacro %}

{#- True when `expr` is true for at least one row. -#}
{% macro bool_or_agg(expr) -%}
    {{ return(adapter.dispatch('bool_or_agg')(expr)) }}
{%- endmacro %}
{% macro default__bool_or_agg(expr) -%}
    bool_or({{ expr }})
{%- endmacro %}
{% macro postgres__bool_or_agg(expr) -%}
    bool_or({{ expr }})
{%- endmacro %}

{#- 1 for true, 0 for false/null, for counting booleans with sum(). -#}
{% macro bool_to_int(expr) -%}
    {{ return(adapter.dispatch('bool_to_int')(expr)) }}
{%- endmacro %}
{% macro default__bool_to_int(expr) -%}
    (case when {{ expr }} then 1 else 0 end)
{%- endmacro %}
