"""The audit trail: ``ops.audit_log``, one row per approval or configuration change.

Columns: id, occurred_at (default now()), actor (who), action (what), object (on which
thing), before and after (the object's state as JSON, null when it did not / no longer exists).

PostgreSQL: the table is created by ``python -m dagster_project.postgres.roles``
(``postgres/sql/050_audit_log.sql``) and is append-only by the database itself: the writer role
may only INSERT and SELECT, and triggers refuse UPDATE, DELETE and TRUNCATE even for the owner
or a superuser. DuckDB has no roles and no triggers: there the table is created on first use
and append-only is a convention of this module (it only ever inserts), not enforced.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

AUDIT_LOG = "ops.audit_log"

# Portable (DuckDB and PostgreSQL) DDL, used only when the table does not exist yet, i.e. on
# DuckDB; on PostgreSQL the roles command creates the protected table first.
_PORTABLE_DDL = (
    "create schema if not exists ops",
    "create sequence if not exists ops.audit_log_id_seq",
    (
        "create table if not exists ops.audit_log ("
        " id bigint primary key default nextval('ops.audit_log_id_seq'),"
        " occurred_at timestamptz not null default now(),"
        " actor varchar not null, action varchar not null, object varchar not null,"
        " before json, after json)"
    ),
)


class Session(Protocol):
    """What ``Warehouse.session()`` yields (``?`` placeholders)."""

    def execute(self, sql: str, params: Any = None) -> None: ...

    def table_exists(self, table: str) -> bool: ...


def _json(state: Any) -> str | None:
    return None if state is None else json.dumps(state, sort_keys=True, default=str)


def record_audit(
    session: Session,
    actor: str,
    action: str,
    object: str,  # the audit log's column name
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry to ``ops.audit_log`` inside the caller's transaction.

    ``before`` and ``after`` are JSON-serialisable states (dicts, lists, scalars; dates and
    decimals are written as strings); ``None`` stores SQL null. Example::

        with warehouse.session() as s:
            record_audit(s, "alice@example.com", "approve_price", "pricing_proposals/42",
                         {"status": "pending"}, {"status": "approved"})
    """
    if not session.table_exists(AUDIT_LOG):
        for statement in _PORTABLE_DDL:
            session.execute(statement)
    session.execute(
        "insert into ops.audit_log (actor, action, object, before, after) "
        "values (?, ?, ?, cast(? as json), cast(? as json))",
        [actor, action, object, _json(before), _json(after)],
    )
