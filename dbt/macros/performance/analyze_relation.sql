{#- Refresh planner statistics of a freshly built table. PostgreSQL does not analyze a table
    made by CREATE TABLE AS until autovacuum gets to it, and without statistics it misestimates
    the joins of the models built on it by orders of magnitude. DuckDB keeps statistics itself. -#}

{% macro analyze_relation(relation) -%}
    {{ return(adapter.dispatch('analyze_relation')(relation)) }}
{%- endmacro %}

{% macro default__analyze_relation(relation) -%}
{%- endmacro %}

{% macro postgres__analyze_relation(relation) -%}
    analyze {{ relation }}
{%- endmacro %}
