-- The writer owns every schema of the engine and everything in them (objects created earlier
-- by another role, e.g. a first run as the superuser, are handed over), except the audit log
-- (schema audit, 050_audit_log.sql).
-- TEMP: PostgreSQL grants it to PUBLIC by default; only the writer keeps it (its bulk writes
-- stage through temporary tables), so bi_reader, bi_client and the per-client roles create
-- nothing anywhere in the database.
do $$
declare
    s text;
    obj record;
begin
    execute format('revoke temporary on database %I from public, bi_reader, bi_client',
                   current_database());
    execute format('grant connect, create, temporary on database %I to bi_writer',
                   current_database());
    execute format('grant connect on database %I to bi_reader, bi_client', current_database());
    foreach s in array array['raw', 'raw_quarantine', 'staging', 'intermediate', 'marts',
                             'analytics', 'reporting', 'ops'] loop
        execute format('create schema if not exists %I authorization bi_writer', s);
        execute format('alter schema %I owner to bi_writer', s);
    end loop;
    for obj in
        select n.nspname, c.relname, c.relkind
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'raw_quarantine', 'staging', 'intermediate', 'marts',
                            'analytics', 'reporting', 'ops')
          and c.relkind in ('r', 'p', 'v', 'm', 'f')
          and c.relowner <> 'bi_writer'::regrole
          -- the audit log of a database set up before issue 11 (050 moves it to schema audit)
          and not (n.nspname = 'ops' and c.relname = 'audit_log')
    loop
        execute format(
            'alter %s %I.%I owner to bi_writer',
            case obj.relkind when 'v' then 'view' when 'm' then 'materialized view'
                             when 'f' then 'foreign table' else 'table' end,
            obj.nspname, obj.relname);
    end loop;
end
$$;
