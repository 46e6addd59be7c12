{#-
  source_or_empty(relation, columns, requires=none): a reporting model's read of a table that a
  Python asset or a job writes (analytics.*, ops.*), which does not exist on a fresh `dbt build`.

  `columns` is an ordered mapping, column name -> type, written once per model; the rendered
  select has exactly these columns, in this order, with these types, whether or not the table
  exists:
  - every relation in `requires` (default: [relation]) exists:
      select cast(<column> as <type>) as <column>, ... from <relation>
    or, called as `{% call source_or_empty(...) %} <select> {% endcall %}`, the same casts over
    `(<select>)`: the body filters, joins, aggregates or derives columns (an alias naming a
    column of the map), and may return more columns than the map, which are dropped; its
    column names must be distinct (`select *, f(x) as x` would be ambiguous);
  - else the typed empty placeholder:
      select cast(null as <type>) as <column>, ... where 1 = 0
  At parse time (`execute` false) it renders the placeholder without touching the warehouse.

  dbt records a dependency only from the `source()` calls parsing makes, and parsing does not
  render a branch it does not take: call `source()` at the top of the model, outside any
  condition, and pass the relation (tests/unit/test_dbt_reporting_sources.py guards this).
  The types are the reporting contracts' (varchar, double precision, bigint, integer, boolean,
  date, timestamp), spelled the DuckDB/PostgreSQL way; sql_type renames them on Spark.
-#}
{% macro source_or_empty(relation, columns, requires=none) -%}
    {%- if columns is not mapping or columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "source_or_empty: columns must be a non-empty mapping of column name to type, got "
            ~ columns) }}
    {%- endif -%}
    {%- set required = [relation] if requires is none else requires -%}
    {%- set missing = [] -%}
    {%- if execute -%}
        {%- for r in required if load_relation(r) is none -%}
            {%- do missing.append(r) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if execute and missing | length == 0 -%}
    select {{ typed_columns(columns) }}
    {%- if caller is defined %}
    from (
        {{ caller() }}
    ) as source_rows
    {%- else %}
    from {{ relation }}
    {%- endif %}
    {%- else -%}
    select {{ typed_columns(columns, nulls=true) }}
    where 1 = 0
    {%- endif -%}
{%- endmacro %}

{#- `cast(<column> as <type>) as <column>, ...` over the ordered mapping `columns`; with
    nulls=true, `cast(null as <type>) as <column>, ...`. -#}
{% macro typed_columns(columns, nulls=false) -%}
    {%- for name, type in columns.items() -%}
        cast({{ 'null' if nulls else name }} as {{ sql_type(type) }}) as {{ name }}
        {%- if not loop.last %},
        {% endif -%}
    {%- endfor -%}
{%- endmacro %}
