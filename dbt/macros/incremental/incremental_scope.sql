{#-
  How an incremental mart replaces the scopes it recomputes (see loaded_since_last_build), per
  warehouse. `key` is the mart's scope (its unique_key: a day, an hour, a post, a customer);
  `partition` is a coarser column list that contains it (a post or a customer lies in one client),
  or the key itself.

  DuckDB, PostgreSQL: delete+insert on `key`; the build recomputes the changed keys.
  Spark over Parquet has no DELETE, and MERGE needs Delta/Iceberg, which cannot be installed here:
  the table is partitioned by `partition` and the build overwrites the partitions its rows fall in
  (insert_overwrite, dynamic partition overwrite), so it recomputes whole partitions: every key of
  a partition with a changed key, or a partitioned table would lose the partition's other keys.
  Both end with the rows a full refresh gives, and a rerun on unchanged data changes nothing.

  In a model:
    {%- set scope = {'key': ['client_id', 'customer_id'], 'partition': ['client_id']} -%}
    {{ config(materialized='incremental', on_schema_change='fail', **incremental_scope_config(scope)) }}
    ... where ({{ incremental_scope(scope) }}) in ({{ loaded_since_last_build(ref(...), incremental_scope(scope)) }})
-#}

{#- The incremental config of a mart recomputed by `scope` (strategy, key or partitions). -#}
{% macro incremental_scope_config(scope) -%}
    {{ return(adapter.dispatch('incremental_scope_config')(scope)) }}
{%- endmacro %}
{% macro default__incremental_scope_config(scope) -%}
    {{ return({'incremental_strategy': 'delete+insert', 'unique_key': scope['key']}) }}
{%- endmacro %}
{% macro spark__incremental_scope_config(scope) -%}
    {{ return({'incremental_strategy': 'insert_overwrite', 'partition_by': scope['partition'],
               'file_format': 'parquet'}) }}
{%- endmacro %}

{#- The columns (comma-separated) an incremental build recomputes by: the key, or on Spark the
    partition columns. -#}
{% macro incremental_scope(scope) -%}
    {{ return(adapter.dispatch('incremental_scope')(scope)) }}
{%- endmacro %}
{% macro default__incremental_scope(scope) -%}
    {{ return(scope['key'] | join(', ')) }}
{%- endmacro %}
{% macro spark__incremental_scope(scope) -%}
    {{ return(scope['partition'] | join(', ')) }}
{%- endmacro %}
