{#-
  SQL type names that differ between warehouses. Models, contracts (`data_type` in the YAML) and
  source_or_empty's column maps spell types the DuckDB/PostgreSQL way (varchar, double precision);
  Spark SQL has neither (a varchar needs a length, and there is no `double precision`), so on
  Spark `sql_type` maps them to `string` and `double`. Every other name (bigint, integer, boolean,
  date, timestamp) is the same on the three.
-#}

{#- The warehouse's spelling of the type `name` (written the DuckDB/PostgreSQL way). -#}
{% macro sql_type(name) -%}
    {{ return(adapter.dispatch('sql_type')(name)) }}
{%- endmacro %}
{% macro default__sql_type(name) -%}
    {{ return(name) }}
{%- endmacro %}
{% macro spark__sql_type(name) -%}
    {%- set spark_names = {'varchar': 'string', 'text': 'string', 'double precision': 'double'} -%}
    {{ return(spark_names.get(name | trim | lower, name)) }}
{%- endmacro %}

{#- Variable-length text (varchar; string on Spark). -#}
{% macro string_type() -%}
    {{ sql_type('varchar') }}
{%- endmacro %}

{#- 64-bit floating point (double precision; double on Spark). -#}
{% macro double_type() -%}
    {{ sql_type('double precision') }}
{%- endmacro %}

{#- dbt's own `cast` (dispatched in the dbt namespace; dbt_project.yml puts this project first in
    its search order): on Spark the contracts' YAML types go through sql_type, so one YAML
    serves every warehouse. dbt checks a contract by casting null to each YAML data_type. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ sql_type(type) }})
{%- endmacro %}
