-- audit.audit_log: who did what to which object, with the before and after states as JSON, each
-- entry chained to the previous one by a SHA-256 hash. Created here only: the writer's
-- dagster_project.audit.record_audit refuses to write when this table is missing or unprotected.
--
-- Prevented by the database:
--   * schema audit and the table are owned by bi_audit_owner (NOLOGIN): bi_writer can neither
--     rename, drop nor replace them (it owns ops, where the log lived before issue 11, and
--     could rename ops away and recreate it), nor alter the table, disable its triggers or
--     regrant;
--   * bi_writer may only SELECT and INSERT; bi_reader and bi_client have no access;
--   * the chain trigger sets id, occurred_at, prev_hash and entry_hash of every new row (what
--     an INSERT supplies for them is overwritten), under an advisory lock held to commit, so
--     concurrent writers append one after the other and never fork the chain;
--   * triggers refuse UPDATE, DELETE and TRUNCATE for everyone, superusers and owner included;
--     all are ENABLE ALWAYS, so SET session_replication_role = replica does not skip them;
--   * when this runs as a superuser, an event trigger (also ENABLE ALWAYS) refuses DROP of the
--     table, its triggers, their functions and the digest function;
--   * the trigger functions live in schema bi_audit, out of every login role's reach.
-- Only detected (dagster_project.audit.verify_chain, run hourly by the verify_audit_log job): a
-- superuser can still disable the triggers (ALTER TABLE ... DISABLE TRIGGER) or the event
-- trigger and then change rows. entry_hash = SHA-256 of the JSON array [prev_hash, id,
-- occurred_at in epoch microseconds, actor, action, object, before, after] (audit.entry_digest),
-- prev_hash = the previous entry's entry_hash (64 zeros for the first), so an edited, deleted
-- or inserted entry breaks the chain; a rewrite that recomputes every later hash is caught by
-- the head the last verification recorded outside this database.

create schema if not exists audit authorization bi_audit_owner;
alter schema audit owner to bi_audit_owner;
revoke all on schema audit from public;
grant usage on schema audit to bi_writer;

create schema if not exists bi_audit authorization bi_audit_owner;
alter schema bi_audit owner to bi_audit_owner;
revoke all on schema bi_audit from public;

-- A database set up before issue 11 keeps its log, entries included, in the new place.
do $$
begin
    if to_regclass('audit.audit_log') is null and to_regclass('ops.audit_log') is not null then
        alter table ops.audit_log set schema audit;
    end if;
end
$$;

create table if not exists audit.audit_log (
    id bigint primary key,
    occurred_at timestamptz not null,
    actor text not null,
    action text not null,
    object text not null,
    before jsonb,
    after jsonb,
    prev_hash text not null,
    entry_hash text not null
);

-- The moved log: ids come from the chain trigger now (not an identity or a sequence), the
-- states are jsonb (a table first created by the portable DDL had json) and the hash columns
-- are added, filled below.
do $$
begin
    if exists (
        select from information_schema.columns
        where table_schema = 'audit' and table_name = 'audit_log' and column_name = 'id'
          and is_identity = 'YES'
    ) then
        alter table audit.audit_log alter column id drop identity;
    end if;
    alter table audit.audit_log alter column id drop default,
        alter column occurred_at drop default;
    if exists (
        select from information_schema.columns
        where table_schema = 'audit' and table_name = 'audit_log'
          and column_name in ('before', 'after') and data_type = 'json'
    ) then
        alter table audit.audit_log
            alter column before type jsonb using before::jsonb,
            alter column after type jsonb using after::jsonb;
    end if;
    alter table audit.audit_log
        add column if not exists prev_hash text,
        add column if not exists entry_hash text;
end
$$;

comment on table audit.audit_log is
    'Append-only, hash-chained audit trail (approvals, configuration changes): UPDATE, DELETE '
    'and TRUNCATE are refused by triggers; written through dagster_project.audit.record_audit; '
    'verified by the verify_audit_log job.';

alter table audit.audit_log owner to bi_audit_owner;
revoke all on audit.audit_log from public, bi_writer, bi_reader, bi_client;
grant select, insert on audit.audit_log to bi_writer;

-- The entry's digest; the verification recomputes it for every entry with this function.
create or replace function audit.entry_digest(
    prev_hash text, id bigint, occurred_at timestamptz, actor text, action text, object text,
    before jsonb, after jsonb
) returns text
language sql stable parallel safe
set search_path = pg_catalog
as $$
    select encode(sha256(convert_to(jsonb_build_array(
        prev_hash, id, (extract(epoch from occurred_at) * 1000000)::bigint, actor, action,
        object, before, after)::text, 'UTF8')), 'hex')
$$;
alter function audit.entry_digest(text, bigint, timestamptz, text, text, text, jsonb, jsonb)
    owner to bi_audit_owner;
revoke all on function audit.entry_digest(text, bigint, timestamptz, text, text, text, jsonb, jsonb)
    from public;
grant execute on function audit.entry_digest(text, bigint, timestamptz, text, text, text, jsonb, jsonb)
    to bi_writer;

-- Appends one after the other: the advisory lock ("bi_audit" in ASCII) is held until the
-- appending transaction ends, and under READ COMMITTED the next statement after the wait sees
-- the entry it committed (a REPEATABLE READ snapshot would not: such appends are refused).
create or replace function bi_audit.audit_log_chain() returns trigger
language plpgsql security definer
set search_path = pg_catalog
as $$
declare
    last_id bigint;
    last_hash text;
begin
    if current_setting('transaction_isolation') <> 'read committed' then
        raise exception 'audit.audit_log: append in a READ COMMITTED transaction (this one is %)',
            current_setting('transaction_isolation')
            using errcode = 'invalid_transaction_state';
    end if;
    perform pg_advisory_xact_lock(7091303960457537908);
    select a.id, a.entry_hash into last_id, last_hash
    from audit.audit_log a order by a.id desc limit 1;
    new.id := coalesce(last_id, 0) + 1;
    new.occurred_at := clock_timestamp();
    new.prev_hash := coalesce(last_hash, repeat('0', 64));
    new.entry_hash := audit.entry_digest(new.prev_hash, new.id, new.occurred_at, new.actor,
                                         new.action, new.object, new.before, new.after);
    return new;
end
$$;
alter function bi_audit.audit_log_chain() owner to bi_audit_owner;
revoke all on function bi_audit.audit_log_chain() from public;

create or replace function bi_audit.audit_log_refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'audit.audit_log is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end
$$;
alter function bi_audit.audit_log_refuse_change() owner to bi_audit_owner;
revoke all on function bi_audit.audit_log_refuse_change() from public;

-- Entries of a moved log get their chain, in id order (the refusing trigger is off meanwhile).
do $$
begin
    if not exists (select from audit.audit_log where entry_hash is null) then
        return;
    end if;
    alter table audit.audit_log disable trigger user;
    with recursive ordered as (
        select row_number() over (order by id) as n, * from audit.audit_log
    ),
    chain as (
        select n, id, repeat('0', 64) as prev_hash,
               audit.entry_digest(repeat('0', 64), id, occurred_at, actor, action, object,
                                  before, after) as entry_hash
        from ordered where n = 1
        union all
        select o.n, o.id, c.entry_hash,
               audit.entry_digest(c.entry_hash, o.id, o.occurred_at, o.actor, o.action,
                                  o.object, o.before, o.after)
        from ordered o join chain c on o.n = c.n + 1
    )
    update audit.audit_log a set prev_hash = c.prev_hash, entry_hash = c.entry_hash
    from chain c where a.id = c.id;
end
$$;
alter table audit.audit_log
    alter column prev_hash set not null,
    alter column entry_hash set not null;

create or replace trigger audit_log_chain
    before insert on audit.audit_log
    for each row execute function bi_audit.audit_log_chain();
create or replace trigger audit_log_append_only
    before update or delete on audit.audit_log
    for each row execute function bi_audit.audit_log_refuse_change();
create or replace trigger audit_log_no_truncate
    before truncate on audit.audit_log
    for each statement execute function bi_audit.audit_log_refuse_change();
alter table audit.audit_log enable always trigger audit_log_chain;
alter table audit.audit_log enable always trigger audit_log_append_only;
alter table audit.audit_log enable always trigger audit_log_no_truncate;

do $$
begin
    if not (select rolsuper from pg_roles where rolname = current_user) then
        raise notice 'not a superuser: the event trigger that refuses DROP of audit.audit_log is skipped';
        return;
    end if;
    create or replace function bi_audit.audit_log_refuse_drop() returns event_trigger
    language plpgsql as $fn$
    begin
        if exists (
            select from pg_event_trigger_dropped_objects()
            where (object_type = 'table' and object_identity = 'audit.audit_log')
               or (object_type = 'trigger' and object_identity like '% on audit.audit_log')
               or (object_type = 'function' and (
                       object_identity like 'bi_audit.audit_log\_%'
                       or object_identity like 'audit.entry\_digest(%'))
        ) then
            raise exception 'audit.audit_log is append-only: DROP refused'
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
    alter event trigger bi_audit_log_no_drop enable always;
end
$$;
