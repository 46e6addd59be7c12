-- The engine's roles. Created once; attributes of existing roles are left as they are, except
-- LOGIN and NOINHERIT, which are re-asserted (a no-op when already set). Passwords are never
-- touched here: set them with ALTER ROLE ... PASSWORD.
--   bi_writer       the pipeline (ingest, dbt, Python assets) connects as it; owns the schemas
--   bi_reader       BI tools: SELECT on marts, analytics, reporting; nothing else
--   bi_client       client-scoped BI access: reads only the rows of the client named by the
--                   session setting app.client_id, in client-keyed reporting tables only
--   bi_audit_owner  owns schema audit and audit.audit_log so that no login role owns them
--                   (cannot log in)
do $$
begin
    if not exists (select from pg_roles where rolname = 'bi_writer') then
        create role bi_writer login;
    end if;
    if not exists (select from pg_roles where rolname = 'bi_reader') then
        create role bi_reader login;
    end if;
    if not exists (select from pg_roles where rolname = 'bi_client') then
        create role bi_client login noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'bi_audit_owner') then
        create role bi_audit_owner nologin;
    end if;
end
$$;

alter role bi_writer login;
alter role bi_reader login;
-- NOINHERIT: even if bi_client is ever made a member of another role by mistake, it does not
-- silently gain that role's privileges; everything it may read is granted to it directly.
alter role bi_client login noinherit;

-- Row-level security is worthless for a role that bypasses it.
do $$
begin
    if exists (
        select from pg_roles
        where rolname in ('bi_reader', 'bi_client') and (rolsuper or rolbypassrls)
    ) then
        raise exception 'bi_reader and bi_client must not be SUPERUSER or BYPASSRLS';
    end if;
end
$$;
