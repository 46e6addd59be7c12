-- Every reporting table with a client_id column is client-keyed: row-level security on, and
--   bi_client_own_rows  bi_client sees the rows whose client_id equals the session setting
--                       app.client_id; setting missing or empty -> no rows
--   bi_reader_all_rows  bi_reader sees every row (RLS on means no policy = no rows)
-- dbt re-applies the same after each rebuild (dbt/macros/security/client_row_security.sql;
-- keep the two in step); this sweep covers tables built before the roles existed. A view with
-- client_id cannot be scoped: dbt refuses to build one, and the roles command lists any left
-- by an older build (they are rebuilt as tables by the next dbt run).
do $$
declare
    rel regclass;
begin
    for rel in
        select c.oid::regclass
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attname = 'client_id' and not a.attisdropped
        where n.nspname = 'reporting' and c.relkind in ('r', 'p')
    loop
        execute format('alter table %s enable row level security', rel);
        if not exists (select from pg_policy where polrelid = rel and polname = 'bi_client_own_rows') then
            execute format(
                'create policy bi_client_own_rows on %s for select to bi_client '
                'using (client_id = nullif(current_setting(''app.client_id'', true), ''''))', rel);
        end if;
        if not exists (select from pg_policy where polrelid = rel and polname = 'bi_reader_all_rows') then
            execute format(
                'create policy bi_reader_all_rows on %s for select to bi_reader using (true)', rel);
        end if;
        execute format('grant select on %s to bi_client, bi_reader', rel);
    end loop;
end
$$;
