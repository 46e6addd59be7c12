{#-
    Post-hook of every reporting model (dbt_project.yml): a reporting relation with a client_id
    column is client-keyed, so BI access to it goes through row-level security. No list of
    models: a new reporting model with client_id is covered by being built.

    PostgreSQL: enable RLS on the freshly built table, create its two SELECT policies and grant
    SELECT, but only for the roles that exist (`python -m dagster_project.postgres.roles`
    creates them), so `dbt build` on a database without the roles still works; the roles
    command applies the same to existing tables (dagster_project/postgres/sql/
    040_client_row_security.sql: keep the two in step).
      bi_client_own_rows  bi_client sees rows whose client_id = the session setting
                          app.client_id; a missing or empty setting gives no rows
      bi_reader_all_rows  bi_reader sees every row
    A client-keyed view or materialized view fails the build: PostgreSQL puts no policy on
    either, so bi_client could read nothing of it (it has no grant on what lies beneath), or,
    granted, every client's rows. Reporting models are tables by default (dbt_project.yml).
    Tables are rebuilt on each run (dbt drops the old one with its policies), so this runs
    every time. Tables without client_id are left alone.
    Other warehouses (DuckDB): no roles and no row-level security; nothing to do.
-#}
{% macro apply_client_row_security(relation) -%}
    {{ return(adapter.dispatch('apply_client_row_security')(relation)) }}
{%- endmacro %}

{% macro default__apply_client_row_security(relation) -%}
{%- endmacro %}

{% macro postgres__apply_client_row_security(relation) -%}
do $bi_rls$
declare
    rel regclass := to_regclass('"{{ relation.schema }}"."{{ relation.identifier }}"');
begin
    if rel is null or not exists (
           select from pg_attribute
           where attrelid = rel and attname = 'client_id' and not attisdropped
       ) then
        return;
    end if;
    if (select relkind from pg_class where oid = rel) not in ('r', 'p') then
        raise exception '% has a client_id column but is not a table: row-level security '
            'cannot scope it to one client; materialize it as a table', rel
            using errcode = 'wrong_object_type';
    end if;
    execute format('alter table %s enable row level security', rel);
    if exists (select from pg_roles where rolname = 'bi_client') then
        if not exists (select from pg_policy where polrelid = rel and polname = 'bi_client_own_rows') then
            execute format(
                'create policy bi_client_own_rows on %s for select to bi_client '
                'using (client_id = nullif(current_setting(''app.client_id'', true), ''''))', rel);
        end if;
        execute format('grant select on %s to bi_client', rel);
    end if;
    if exists (select from pg_roles where rolname = 'bi_reader') then
        if not exists (select from pg_policy where polrelid = rel and polname = 'bi_reader_all_rows') then
            execute format(
                'create policy bi_reader_all_rows on %s for select to bi_reader using (true)', rel);
        end if;
        execute format('grant select on %s to bi_reader', rel);
    end if;
end
$bi_rls$
{%- endmacro %}
