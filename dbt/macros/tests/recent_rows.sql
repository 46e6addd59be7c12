{#-
  Tests scoped to what a run wrote (the hourly job sets var `test_window_hours`): every generic
  test (unique, not_null, relationships, accepted_values, unique_combination_of_columns) then
  reads only its model's rows written or loaded in the last N hours: `built_at` of the
  incremental marts (when the row's scope was last recomputed), `_loaded_at` of the staging
  views. The other rows were tested when they were written and have not changed since
  (delete+insert rewrites only recomputed scopes; raw is append-only), so the hourly job's tests
  cost what the new rows cost, not the history. Models with neither column are tested whole, and
  without the var (the nightly job, a dbt build by hand) every row of every model is.
  A relationships test filters the child, never the parent it looks keys up in.

  Overrides dbt's own `get_where_subquery` (which applies a test's `where` config).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set hours = var('test_window_hours', none) -%}
    {%- if hours is not none and execute -%}
        {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name')
                        | map('lower') | list -%}
        {%- set column = 'built_at' if 'built_at' in names
                         else ('_loaded_at' if '_loaded_at' in names else none) -%}
        {%- if column -%}
            {%- set recent = column ~ ' >= ' ~ add_hours(utc_now(), -hours) -%}
            {%- set where = recent if not where else '(' ~ where ~ ') and ' ~ recent -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}
