-- ops.audit_log: who did what to which object, with the before and after states as JSON.
-- Append-only, enforced by the database:
--   * owned by bi_audit_owner (NOLOGIN), so no login role can alter, disable triggers or regrant;
--   * bi_writer may only SELECT and INSERT;
--   * triggers refuse UPDATE, DELETE and TRUNCATE for everyone, superusers and owner included;
--   * when this runs as a superuser, an event trigger also refuses DROP of the table, its
--     triggers or their function (ops is writer-owned, and a schema owner may drop what is in
--     it, even through DROP SCHEMA ops CASCADE);
--   * the guard functions live in schema bi_audit, owned by bi_audit_owner, out of the
--     writer's reach.
create table if not exists ops.audit_log (
    id bigint generated always as identity primary key,
    occurred_at timestamptz not null default now(),
    actor text not null,
    action text not null,
    object text not null,
    before jsonb,
    after jsonb
);

-- A table first created by dagster_project.audit (portable DDL, json columns) is converted.
do $$
begin
    if exists (
        select from information_schema.columns
        where table_schema = 'ops' and table_name = 'audit_log'
          and column_name in ('before', 'after') and data_type = 'json'
    ) then
        alter table ops.audit_log
            alter column before type jsonb using before::jsonb,
            alter column after type jsonb using after::jsonb;
    end if;
end
$$;

comment on table ops.audit_log is
    'Append-only audit trail (approvals, configuration changes): UPDATE, DELETE and TRUNCATE '
    'are refused by triggers; written through dagster_project.audit.record_audit.';

alter table ops.audit_log owner to bi_audit_owner;

create schema if not exists bi_audit authorization bi_audit_owner;
alter schema bi_audit owner to bi_audit_owner;
revoke all on schema bi_audit from public;
revoke all on ops.audit_log from public, bi_writer, bi_reader, bi_client;
grant select, insert on ops.audit_log to bi_writer;

create or replace function bi_audit.audit_log_refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'ops.audit_log is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end
$$;
alter function bi_audit.audit_log_refuse_change() owner to bi_audit_owner;
revoke all on function bi_audit.audit_log_refuse_change() from public;

create or replace trigger audit_log_append_only
    before update or delete on ops.audit_log
    for each row execute function bi_audit.audit_log_refuse_change();
create or replace trigger audit_log_no_truncate
    before truncate on ops.audit_log
    for each statement execute function bi_audit.audit_log_refuse_change();

do $$
begin
    if not (select rolsuper from pg_roles where rolname = current_user) then
        raise notice 'not a superuser: the event trigger that refuses DROP of ops.audit_log is skipped';
        return;
    end if;
    create or replace function bi_audit.audit_log_refuse_drop() returns event_trigger
    language plpgsql as $fn$
    begin
        if exists (
            select from pg_event_trigger_dropped_objects()
            where (object_type = 'table' and object_identity = 'ops.audit_log')
               or (object_type = 'trigger' and object_identity like '% on ops.audit_log')
               or (object_type = 'function' and object_identity = 'bi_audit.audit_log_refuse_change()')
        ) then
            raise exception 'ops.audit_log is append-only: DROP refused'
                using errcode = 'insufficient_privilege';
        end if;
    end
    $fn$;
    alter function bi_audit.audit_log_refuse_drop() owner to bi_audit_owner;
    revoke all on function bi_audit.audit_log_refuse_drop() from public;
    if not exists (select from pg_event_trigger where evtname = 'bi_audit_log_no_drop') then
        create event trigger bi_audit_log_no_drop on sql_drop
            execute function bi_audit.audit_log_refuse_drop();
    end if;
end
$$;
