"""Appending to ``audit.audit_log``: one row per approval or configuration change.

Columns: id (1, 2, 3, ...: the chain's order), occurred_at (when the entry was appended), actor
(who), action (what), object (on which thing), before and after (the object's state as JSON,
null when it did not / no longer exists), prev_hash and entry_hash (the chain, see
:mod:`dagster_project.audit.chain`).

PostgreSQL: the table, its triggers and the digest function are created by
``python -m dagster_project.postgres.roles`` (``postgres/sql/050_audit_log.sql``) and nowhere
else. The database assigns id, occurred_at and both hashes under a lock and refuses UPDATE,
DELETE and TRUNCATE; :func:`record_audit` refuses to write unless the table is there with those
protections. DuckDB has no roles and no triggers: the table and the digest macro are created on
first use, :func:`record_audit` computes the chain itself, and append-only is a convention that
only the verification checks.
"""

from __future__ import annotations

import json
from typing import Any

from dagster_project.warehouse import WarehouseSession

AUDIT_LOG = "audit.audit_log"
AUDIT_OWNER = "bi_audit_owner"
GENESIS_HASH = "0" * 64  # the prev_hash of the first entry
# what 050_audit_log.sql installs: every trigger ENABLE ALWAYS ('A')
PROTECTING_TRIGGERS = "audit_log_append_only:A,audit_log_chain:A,audit_log_no_truncate:A"

# DuckDB's digest: the same inputs as PostgreSQL's audit.entry_digest, in DuckDB's JSON text.
_DUCKDB_DDL = (
    "create schema if not exists audit",
    ("create or replace macro audit.entry_digest(prev_hash, id, occurred_at, actor, action,"
     " object, before, after) as sha256(cast(json_array(prev_hash, id, epoch_us(occurred_at),"
     " actor, action, object, before, after) as varchar))"),
    ("create table if not exists audit.audit_log ("
     " id bigint primary key, occurred_at timestamptz not null,"
     " actor varchar not null, action varchar not null, object varchar not null,"
     " before json, after json, prev_hash varchar not null, entry_hash varchar not null)"),
)
# The next id and the previous hash in the same statement; two sessions appending at once
# compute the same id and the primary key lets only one of them commit (no fork).
_DUCKDB_APPEND = """
insert into audit.audit_log
    (id, occurred_at, actor, action, object, before, after, prev_hash, entry_hash)
select id, occurred_at, actor, action, object, before, after, prev_hash,
       audit.entry_digest(prev_hash, id, occurred_at, actor, action, object, before, after)
from (
    select coalesce(max(id), 0) + 1 as id, now() as occurred_at,
           cast(? as varchar) as actor, cast(? as varchar) as action,
           cast(? as varchar) as object, cast(? as json) as before, cast(? as json) as after,
           coalesce(arg_max(entry_hash, id), ?) as prev_hash
    from audit.audit_log
) as entry
returning id
"""
_POSTGRES_APPEND = (
    "insert into audit.audit_log (actor, action, object, before, after)"
    " values (?, ?, ?, cast(? as jsonb), cast(? as jsonb)) returning id"
)
_POSTGRES_PROTECTION = """
select pg_get_userbyid(n.nspowner), pg_get_userbyid(c.relowner),
       (select string_agg(t.tgname || ':' || t.tgenabled::text, ',' order by t.tgname)
        from pg_trigger t where t.tgrelid = c.oid and not t.tgisinternal)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.oid = to_regclass('audit.audit_log')
"""


def protection_faults(session: WarehouseSession) -> list[str]:
    """What is missing from the PostgreSQL audit log's protection (empty: all in place):
    the table, its owner and its schema's owner (bi_audit_owner), its triggers ENABLE ALWAYS."""
    found = session.read(_POSTGRES_PROTECTION).rows()
    if not found:
        return [f"{AUDIT_LOG} does not exist"]
    schema_owner, owner, triggers = found[0]
    faults = []
    if schema_owner != AUDIT_OWNER:
        faults.append(f"schema audit is owned by {schema_owner}, not {AUDIT_OWNER}")
    if owner != AUDIT_OWNER:
        faults.append(f"{AUDIT_LOG} is owned by {owner}, not {AUDIT_OWNER}")
    if triggers != PROTECTING_TRIGGERS:
        faults.append(f"its triggers are {triggers or 'none'}, not {PROTECTING_TRIGGERS}")
    return faults


def _json(state: Any) -> str | None:
    return None if state is None else json.dumps(state, sort_keys=True, default=str)


def record_audit(
    session: WarehouseSession,
    actor: str,
    action: str,
    object: str,  # the audit log's column name
    before: Any = None,
    after: Any = None,
) -> int:
    """Append one entry to ``audit.audit_log`` inside the caller's transaction; returns its id.

    ``before`` and ``after`` are JSON-serialisable states (dicts, lists, scalars; dates and
    decimals are written as strings); ``None`` stores SQL null. On PostgreSQL the append holds
    the log's lock until the caller's transaction ends (record last, commit soon), and raises
    ``RuntimeError`` when the log is missing or unprotected (run the roles command). Example::

        with warehouse.session() as s:
            record_audit(s, "alice@example.com", "approve_price", "pricing_proposals/42",
                         {"status": "pending"}, {"status": "approved"})
    """
    values = [actor, action, object, _json(before), _json(after)]
    if session.dialect == "postgres":
        faults = protection_faults(session)
        if faults:
            raise RuntimeError(
                f"refusing to write the audit log: {'; '.join(faults)}. It is created and "
                "protected only by `python -m dagster_project.postgres.roles` (make pg-roles), "
                "run as a superuser."
            )
        return session.scalar(_POSTGRES_APPEND, values)
    if not session.table_exists(AUDIT_LOG):
        for statement in _DUCKDB_DDL:
            session.execute(statement)
    return session.scalar(_DUCKDB_APPEND, [*values, GENESIS_HASH])
